-- Deletes the keys still owned by ARGV[1], and only those: a seat lock that
-- lapsed and was taken by another request, or a hold marker a later hold of
-- the same seat wrote, is left alone.
-- KEYS: seat locks (ARGV[1]: the request's owner token) or hold markers
-- (ARGV[1]: the reservation id). Returns how many were deleted.
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
