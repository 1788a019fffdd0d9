-- Admits one call if the caller made fewer than its budget in the window
-- that ends now (a sliding window, by Redis's own clock), in one round trip.
-- A caller never gets more than its budget in any window, also across what
-- would be the edge of a fixed one.
-- KEYS[1]: the caller's log of admitted calls for one budget (a sorted set of
--          call times in milliseconds).
-- ARGV[1]: the window in milliseconds; ARGV[2]: calls per window;
-- ARGV[3]: a member unique to this call.
-- Returns {1, 0} when admitted, else {0, milliseconds until the oldest call
-- in the window leaves it}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
-- Refused calls are not logged: hammering does not push the wait further.
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now)}
