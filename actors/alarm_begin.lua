-- KEYS[1] - the alarm record, actor:<kind>:{<id>}:alarm
-- ARGV[1] - lease length in milliseconds
-- ARGV[2] - this firing's owner token (unique per claim; finish must present it)
-- returns {"gone"} (no alarm, or dead) | {"later", next ms} (moved to a later time) |
--         {"run", generation, attempt, at ms, next ms, now ms, payload}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'at', 'next', 'gen', 'dead', 'payload')
if not r[1] or r[4] == '1' then
  return {'gone'}
end
local next_at = tonumber(r[2])
if next_at > now then
  return {'later', next_at}
end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HSET', KEYS[1], 'lease', string.format('%d', now + tonumber(ARGV[1])), 'owner', ARGV[2])
return {'run', tonumber(r[3]), attempt, tonumber(r[1]), next_at, now, r[5]}
