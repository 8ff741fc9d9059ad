-- KEYS[1] - the tenant's fleet state, actor:fleet:org:{<tenant>} (field version)
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - the tenant (echoed)
-- ARGV[6...] - the child kinds to list; each kind's index is the hash KEYS[1]:<kind>
--              (child name -> the JSON summary the child last reported)
-- returns JSON {"tenant": tenant, "children": {kind: {name: summary}}, "version": v}
local children = {}
for i = 6, #ARGV do
  local kind = ARGV[i]
  if not string.match(kind, '^[a-z][a-z0-9_]*$') or #kind > 32 then
    return reject('child kinds are lowercase letters, digits and _ (max 32)')
  end
  local entries = {}
  local flat = redis.call('HGETALL', slot_key(kind))
  for j = 1, #flat, 2 do
    entries[flat[j]] = cjson.decode(flat[j + 1])
  end
  children[kind] = entries
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
return cjson.encode({tenant = ARGV[5], children = children, version = version})
