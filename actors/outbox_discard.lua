-- KEYS[1] - the message's state hash, actor:outbox:{<id>}
-- KEYS[2] - the request-result key, actor:outbox:{<id>}:rq:discard:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - how long the discarded mark is kept, in milliseconds
-- returns JSON {"id": id, "status": status}; only a pending message becomes "discarded" (body dropped):
-- the sweeper then never schedules it, whatever became of its alarm record
local keep = tonumber(ARGV[5])
if not is_int(keep, 1, 31536000000) then
  return reject('keep must be a positive number of milliseconds')
end
local done = replayed()
if done then
  return done
end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'pending' then
  status = 'discarded'
  redis.call('HDEL', KEYS[1], 'body')
  redis.call('HSET', KEYS[1], 'status', status, 'discarded_at', iso8601(now_ms()))
  redis.call('PEXPIRE', KEYS[1], keep)
end
return finish(cjson.encode({id = ID, status = status or 'none'}))
