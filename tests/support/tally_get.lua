-- KEYS[1] - the tally's state hash, actor:tally:{<id>} (fields count, version)
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- returns JSON {"count": n, "id": id, "timestamp": now as ISO 8601 UTC, "version": v}
local values = redis.call('HMGET', KEYS[1], 'count', 'version')
return cjson.encode({
  count = tonumber(values[1]) or 0,
  id = ID,
  timestamp = iso8601(now_ms()),
  version = tonumber(values[2]) or 0,
})
