-- Counts one call in the caller's current window, in one round trip.
-- KEYS[1]: the caller's counter for one budget; ARGV[1]: the window in milliseconds.
-- Returns {calls in this window so far, milliseconds until the window ends}.
local calls = redis.call('INCR', KEYS[1])
if calls == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  -- A counter without expiry (a lost PEXPIRE) would block its caller forever.
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {calls, left}
