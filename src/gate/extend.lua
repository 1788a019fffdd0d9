-- After a reservation's hold was extended: the hold markers it owns live
-- until the new end; a marker another hold wrote is left alone.
-- KEYS: the seats' hold markers. ARGV[1]: the reservation id (the markers'
-- value); ARGV[2]: the new time to live in milliseconds. Returns how many
-- markers were extended.
local extended = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    extended = extended + 1
  end
end
return extended
