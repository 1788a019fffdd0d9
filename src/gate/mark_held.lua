-- After a reservation commits: marks its seats as held, then releases the
-- locks still owned by this request, in one round trip.
-- KEYS[1..n]: the seat lock keys; KEYS[n+1..2n]: the same seats' hold markers.
-- ARGV[1]: the lock owner token; ARGV[2]: the reservation id (the markers'
-- value); ARGV[3]: the markers' time to live in milliseconds, the hold's.
local n = #KEYS / 2
for i = 1, n do
  redis.call('SET', KEYS[n + i], ARGV[2], 'PX', ARGV[3])
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return n
