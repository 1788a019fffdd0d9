-- Takes every seat lock of one request, or none: one round trip, atomic.
-- KEYS: the seat lock keys, all with the same {session_id} hash tag.
-- ARGV[1]: the owner token; ARGV[2]: the lock's time to live in milliseconds.
-- Returns 1 when all were taken, 0 when any is held by another owner.
for _, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner and owner ~= ARGV[1] then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
