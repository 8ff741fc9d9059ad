-- KEYS[1] - the counter's state hash, actor:counter:{<id>} (fields count, version)
-- KEYS[2] - the request-result key, actor:counter:{<id>}:rq:reset:<request id>
-- KEYS[3], KEYS[4] - for a tenant's counter org:{<tenant>}/<name>: its fleet's state and index
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- returns JSON {"count": 0, "id": id, "timestamp": ISO 8601 UTC, "version": v}; publishes the change and
-- reports the count to the tenant's fleet index
local done = replayed()
if done then
  return done
end
redis.call('HSET', KEYS[1], 'count', 0)
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local timestamp = iso8601(now_ms())
announce({count = 0, id = ID, timestamp = timestamp}, version)
report({count = 0})
return finish(cjson.encode({count = 0, id = ID, timestamp = timestamp, version = version}))
