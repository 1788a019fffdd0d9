-- Releases seat locks, but only those still owned by ARGV[1]: a lock that
-- lapsed and was taken by another request is left alone.
-- Returns how many were released.
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
