-- KEYS[1] - the subject's usage actor, actor:usage:{<subject>} (no state of its own: its buckets are)
-- KEYS[2] - the request-result key, actor:usage:{<subject>}:rq:record:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - the event name: 1-64 of a-z 0-9 _ . : -
-- ARGV[6] - how much to add, an integer from 1 to 1000000
-- ARGV[7] - seconds an hour bucket is kept after its last write (1 to 31536000)
-- ARGV[8] - seconds a day bucket is kept after its last write (1 to 31536000)
-- returns JSON {"hour": n, "day": n}: the event's count in this hour and today (UTC, Redis time)
-- Buckets are hashes event -> count at KEYS[1]:h:<hours since 1970> and KEYS[1]:d:<days since
-- 1970> (slot_key: the subject's slot). Nothing is published: events are frequent.
local event, amount = ARGV[5], tonumber(ARGV[6])
local hour_ttl, day_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
if #event > 64 or not string.match(event, '^[a-z0-9][a-z0-9_.:%-]*$') then
  return reject('event must be 1-64 of a-z 0-9 _ . : -')
end
if not is_int(amount, 1, 1000000) then
  return reject('amount must be an integer from 1 to 1000000')
end
if not is_int(hour_ttl, 1, 31536000) or not is_int(day_ttl, 1, 31536000) then
  return reject('bucket ttls must be integers from 1 to 31536000 seconds')
end
local done = replayed()
if done then
  return done
end
local seconds = math.floor(now_ms() / 1000)
local hour_key = slot_key('h:' .. math.floor(seconds / 3600))
local day_key = slot_key('d:' .. math.floor(seconds / 86400))
local hour = redis.call('HINCRBY', hour_key, event, amount)
redis.call('EXPIRE', hour_key, hour_ttl)
local day = redis.call('HINCRBY', day_key, event, amount)
redis.call('EXPIRE', day_key, day_ttl)
return finish(cjson.encode({hour = hour, day = day}))
