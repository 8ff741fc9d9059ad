-- KEYS[1] - the user's preferences hash, actor:preferences:{<user id>}
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- returns JSON {"theme": s, "language": s, "timezone": s, "updated_at": ISO 8601 or "", "version": v}
local v = redis.call('HMGET', KEYS[1], 'theme', 'language', 'timezone', 'updated_at', 'version')
return cjson.encode({
  theme = v[1] or 'system',
  language = v[2] or 'en',
  timezone = v[3] or 'UTC',
  updated_at = v[4] or '',
  version = tonumber(v[5]) or 0,
})
