-- KEYS[1] - the alarm record, actor:<kind>:{<id>}:alarm
-- returns the time it is due again (now, in ms), or 0 when the actor has no alarm
-- An operator's "retry": a dead or waiting alarm runs at once with a fresh count of tries.
if redis.call('HEXISTS', KEYS[1], 'at') == 0 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HDEL', KEYS[1], 'dead', 'died')
redis.call('HSET', KEYS[1], 'next', string.format('%d', now), 'attempt', 0)
return now
