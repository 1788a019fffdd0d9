-- After a cancellation or an expiry commits: deletes the hold markers that
-- still name this reservation (a later hold of the same seat keeps its own).
-- KEYS: the hold markers; ARGV[1]: the reservation id.
-- Returns how many were deleted.
local deleted = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return deleted
