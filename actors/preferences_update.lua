-- KEYS[1] - the user's preferences hash, actor:preferences:{<user id>}
-- KEYS[2] - the request-result key, actor:preferences:{<user id>}:rq:update:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - theme: light, dark or system; empty to keep the current one
-- ARGV[6] - language: a BCP 47 tag like en or pt-BR (2-35 chars); empty to keep
-- ARGV[7] - timezone: an IANA name like Europe/Paris (1-64 chars); empty to keep
-- returns JSON of the whole new state (as preferences_get.lua); publishes it
-- All given fields change together or none does: language and timezone move as one locale.
local theme, language, timezone = ARGV[5], ARGV[6], ARGV[7]
if theme ~= '' and theme ~= 'light' and theme ~= 'dark' and theme ~= 'system' then
  return reject('theme must be light, dark or system')
end
if language ~= '' and (#language < 2 or #language > 35 or not string.match(language, '^%a%a%a?[%w%-]*$')) then
  return reject('language must be a BCP 47 tag like en or pt-BR')
end
if timezone ~= '' and (#timezone > 64 or not string.match(timezone, '^[%w_%+%-/]+$')) then
  return reject('timezone must be an IANA name like Europe/Paris')
end
if theme == '' and language == '' and timezone == '' then
  return reject('nothing to update')
end
local done = replayed()
if done then
  return done
end
local changes = {}
if theme ~= '' then table.insert(changes, 'theme'); table.insert(changes, theme) end
if language ~= '' then table.insert(changes, 'language'); table.insert(changes, language) end
if timezone ~= '' then table.insert(changes, 'timezone'); table.insert(changes, timezone) end
local updated_at = iso8601(now_ms())
redis.call('HSET', KEYS[1], 'updated_at', updated_at, unpack(changes))
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local v = redis.call('HMGET', KEYS[1], 'theme', 'language', 'timezone')
local state = {theme = v[1] or 'system', language = v[2] or 'en', timezone = v[3] or 'UTC', updated_at = updated_at}
announce(state, version)
state.version = version
return finish(cjson.encode(state))
