-- KEYS[1] - the counter's state hash, actor:counter:{<id>} (fields count, version)
-- KEYS[2] - the request-result key, actor:counter:{<id>}:rq:increment:<request id>
-- KEYS[3], KEYS[4] - for a tenant's counter org:{<tenant>}/<name>: its fleet's state and index
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - amount to add, an integer from 1 to 1000000000
-- returns JSON {"count": n, "id": id, "timestamp": ISO 8601 UTC, "version": v}; publishes the change and
-- reports the count to the tenant's fleet index
local amount = tonumber(ARGV[5])
if not is_int(amount, 1, 1000000000) then
  return reject('amount must be an integer from 1 to 1000000000')
end
local done = replayed()
if done then
  return done
end
local count = redis.call('HINCRBY', KEYS[1], 'count', amount)
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local timestamp = iso8601(now_ms())
announce({count = count, id = ID, timestamp = timestamp}, version)
report({count = count})
return finish(cjson.encode({count = count, id = ID, timestamp = timestamp, version = version}))
