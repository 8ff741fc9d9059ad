-- KEYS[1] - the counter's state hash, actor:counter:{<id>} (fields count, version)
-- KEYS[2] - the request-result key, actor:counter:{<id>}:rq:delete:<request id>
-- KEYS[3], KEYS[4] - for a tenant's counter org:{<tenant>}/<name>: its fleet's state and index
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- returns JSON {"count": 0, "id": id, "timestamp": ISO 8601 UTC, "version": v, "existed": bool};
-- publishes the deletion and removes the counter from its tenant's fleet index
-- The state goes; a later increment starts a new counter from 0 (and lists it again).
local done = replayed()
if done then
  return done
end
local previous = tonumber(redis.call('HGET', KEYS[1], 'version'))
redis.call('DEL', KEYS[1])
local version = (previous or 0) + 1
local timestamp = iso8601(now_ms())
announce({count = 0, id = ID, timestamp = timestamp, deleted = true}, version)
report(nil)
return finish(cjson.encode({count = 0, id = ID, timestamp = timestamp, version = version,
  existed = previous ~= nil}))
