-- KEYS[1] - the alarm record, actor:<kind>:{<id>}:alarm
-- ARGV[1] - the owner token given to alarm_begin.lua
-- ARGV[2] - the generation that ran
-- ARGV[3] - outcome: ok or fail
-- ARGV[4] - the error text (fail)
-- ARGV[5] - max tries, ARGV[6] - first retry delay in ms, ARGV[7] - backoff factor
-- ARGV[8] - how long a spent record (only `gen` left) is kept, in ms (docs/alarms.md says why)
-- returns {"stale"} (another firing owns it now: leave the index alone) | {"done"} (finished or cancelled) |
--         {"requeue", next ms} (set again meanwhile) | {"retry", next ms} | {"dead", now ms}
local r = redis.call('HMGET', KEYS[1], 'owner', 'gen', 'attempt', 'next', 'at')
if r[1] ~= ARGV[1] then
  return {'stale'}
end
redis.call('HDEL', KEYS[1], 'owner', 'lease')
if not r[5] then
  return {'done'}
end
if r[2] ~= ARGV[2] then
  return {'requeue', tonumber(r[4])}
end
if ARGV[3] == 'ok' then
  redis.call('HDEL', KEYS[1], 'at', 'next', 'payload', 'attempt', 'error', 'dead', 'died')
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  return {'done'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local attempt = tonumber(r[3])
if attempt >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'dead', '1', 'died', string.format('%d', now), 'error', ARGV[4])
  redis.call('PERSIST', KEYS[1])  -- an operator retries or discards it: it waits for them
  return {'dead', now}
end
local retry_at = now + math.floor(tonumber(ARGV[6]) * tonumber(ARGV[7]) ^ (attempt - 1))
redis.call('HSET', KEYS[1], 'next', string.format('%d', retry_at), 'error', ARGV[4])
return {'retry', retry_at}
