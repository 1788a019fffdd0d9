-- Takes every seat lock of one request, or none: one round trip, atomic.
-- KEYS[1..n]: the seat lock keys; KEYS[n+1..2n]: the same seats' hold
-- markers; all with the same {session_id} hash tag.
-- ARGV[1]: the owner token; ARGV[2]: the lock's time to live in
-- milliseconds; ARGV[3..n+2]: the seat labels, in KEYS order.
-- Returns {'held', label...} naming every seat a committed hold still
-- marks, else {'contended'} when another owner holds any lock, else
-- {'locked'} once every lock is taken.
local n = #KEYS / 2
local held = {'held'}
for i = 1, n do
  if redis.call('EXISTS', KEYS[n + i]) == 1 then
    held[#held + 1] = ARGV[2 + i]
  end
end
if #held > 1 then
  return held
end
for i = 1, n do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then
    return {'contended'}
  end
end
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return {'locked'}
