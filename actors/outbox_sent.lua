-- KEYS[1] - the message's state hash, actor:outbox:{<id>}
-- KEYS[2] - the request-result key, actor:outbox:{<id>}:rq:sent:<request id> (the alarm firing's)
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - how long the sent mark is kept, in milliseconds
-- ARGV[6] - the request id of the firing that sent it (kept as sent_by)
-- returns JSON {"id": id, "status": "sent"|"none"}; drops the body, keeps who sent it and when
local keep = tonumber(ARGV[5])
if not is_int(keep, 1, 31536000000) then
  return reject('keep must be a positive number of milliseconds')
end
local done = replayed()
if done then
  return done
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return finish(cjson.encode({id = ID, status = 'none'}))
end
redis.call('HDEL', KEYS[1], 'body')
redis.call('HSET', KEYS[1], 'status', 'sent', 'sent_at', iso8601(now_ms()), 'sent_by', ARGV[6])
redis.call('PEXPIRE', KEYS[1], keep)
return finish(cjson.encode({id = ID, status = 'sent'}))
