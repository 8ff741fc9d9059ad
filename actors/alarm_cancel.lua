-- KEYS[1] - the alarm record, actor:<kind>:{<id>}:alarm
-- ARGV[1] - how long the spent record (only `gen` left) is kept, in ms (docs/alarms.md says why)
-- returns how many alarm fields it removed: 0 when there was no alarm (pending, retrying or dead)
-- The generation stays so request ids never repeat; a firing still running keeps `owner` and
-- `lease`, and its finish then drops its outcome.
local removed = redis.call('HDEL', KEYS[1], 'at', 'next', 'payload', 'attempt', 'error', 'dead', 'died')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return removed
