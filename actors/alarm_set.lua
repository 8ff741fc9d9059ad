-- KEYS[1] - the alarm record, actor:<kind>:{<id>}:alarm (a hash in the actor's slot)
-- ARGV[1] - when it is due: Unix time in milliseconds, an integer
-- ARGV[2] - the payload, JSON text
-- returns the alarm's new generation (an integer): every set counts one, so each firing's request id is new
-- A firing in progress keeps its owner and lease: its finish sees the new generation and requeues it.
-- A spent record (alarm ran or was cancelled) carries an expiry; a pending alarm must not expire.
local at = tonumber(ARGV[1])
if not at or at ~= math.floor(at) or at < 0 then
  return redis.error_reply('EINVAL at must be a non-negative integer of milliseconds')
end
local generation = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HDEL', KEYS[1], 'error', 'dead')
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'next', ARGV[1], 'payload', ARGV[2], 'attempt', 0)
redis.call('PERSIST', KEYS[1])
return generation
