-- KEYS[1] - the message's state hash, actor:outbox:{<id>} (fields status, body, sent_at, sent_by)
-- KEYS[2] - the request-result key, actor:outbox:{<id>}:rq:put:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - the message body (opaque to the actor)
-- ARGV[6] - how long an unsent message is kept, in milliseconds
-- returns JSON {"id": id, "status": status}; a message already stored keeps its body and status
local keep = tonumber(ARGV[6])
if not is_int(keep, 1, 31536000000) then
  return reject('keep must be a positive number of milliseconds')
end
local done = replayed()
if done then
  return done
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'status', 'pending', 'body', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], keep)
end
local status = redis.call('HGET', KEYS[1], 'status')
return finish(cjson.encode({id = ID, status = status}))
