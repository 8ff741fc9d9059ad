-- Shared by every actor script: the runtime puts this text in front of each <actor>_<op>.lua.
-- It is the scripts' API: KIND, ID, CHANNEL, REQUEST_TTL_MS, PARENT, reject(), now_ms(), iso8601(),
-- replayed(), finish(), announce(), is_int(), slot_key() and report(), documented where each is
-- defined below.
-- KEYS[1] - the actor's state key, actor:<kind>:{<id>} (a tenant's actor: actor:<kind>:org:{<tenant>}/<name>)
-- KEYS[2] - the request-result key, actor:<kind>:{<id>}:rq:<op>:<request id> (read-only ops get a
--           fixed name that is never written: they must not call finish())
-- KEYS[3...] - the operation's extra keys, actor:<kind>:{<id>}:<name>, in the order the Operation
--              declares them (Operation("x.lua", keys=("members",)) -> KEYS[3] is ...:members)
-- KEYS[n-1], KEYS[n] - for a fleet kind's mutating call on a tenant's actor: its parent's state and
--              index keys, actor:fleet:org:{<tenant>} and actor:fleet:org:{<tenant>}:<kind> (see report())
-- ARGV[1] - actor kind
-- ARGV[2] - actor id
-- ARGV[3] - the actor's event channel
-- ARGV[4] - how long to remember a request's result, in milliseconds
-- ARGV[5...] - the operation's own arguments (see each file)
-- returns whatever the operation returns: a JSON string
local KIND, ID, CHANNEL = ARGV[1], ARGV[2], ARGV[3]
local REQUEST_TTL_MS = tonumber(ARGV[4])
-- A tenant's actor org:{<tenant>}/<name> has a parent, org:{<tenant>}: PARENT and CHILD, else nil.
local PARENT, CHILD = string.match(ID, '^(org:{[%w_.-]+})/(.+)$')

-- Refuse the call before writing anything: the caller gets InvalidActorArgument(message).
local function reject(message)
  return redis.error_reply('EINVAL ' .. message)
end

-- Redis TIME, not the caller's clock: every process and the cluster agree on one time source.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Days-to-civil conversion (H. Hinnant's algorithm); Redis's Lua has no os.date.
local function iso8601(ms)
  local secs = math.floor(ms / 1000)
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, ms % 1000)
end

-- The stored result of an earlier run of this request, or false: a repeat returns it unchanged.
local function replayed()
  if KEYS[2] then
    return redis.call('GET', KEYS[2])
  end
  return false
end

-- Remember the result under the request id (same hash slot) and return it.
local function finish(result)
  if KEYS[2] then
    redis.call('SET', KEYS[2], result, 'PX', REQUEST_TTL_MS)
  end
  return result
end

-- Publish a change on the actor's channel: live views and subscribers get {kind, id, state, version}.
local function announce(state, version)
  redis.call('PUBLISH', CHANNEL, cjson.encode({kind = KIND, id = ID, state = state, version = version}))
end

-- Another key of this actor whose name the script makes (a time bucket): KEYS[1]:<suffix>.
-- It shares KEYS[1]'s hash tag, so it lives in the same cluster slot and works on Redis Cluster.
local function slot_key(suffix)
  return KEYS[1] .. ':' .. suffix
end

-- Keep this actor's entry in its parent's fleet index current, in the same atomic script: the
-- summary table (a counter reports {count = n}), or nil when the actor is deleted. Only a tenant's
-- actor has a parent (no-op otherwise); the parent's keys share its tenant's hash tag. Bumps the
-- parent's version and publishes {kind = "fleet", id = PARENT, state = {kind, name, summary}}.
local function report(summary)
  if not PARENT then
    return
  end
  local parent = 'actor:fleet:' .. PARENT
  local index = parent .. ':' .. KIND
  if summary == nil then
    redis.call('HDEL', index, CHILD)
  else
    redis.call('HSET', index, CHILD, cjson.encode(summary))
  end
  local version = redis.call('HINCRBY', parent, 'version', 1)
  redis.call('PUBLISH', parent .. ':events', cjson.encode({
    kind = 'fleet', id = PARENT, version = version,
    state = {kind = KIND, name = CHILD, summary = summary == nil and cjson.null or summary},
  }))
end

-- True when n is an integer from low to high (use on tonumber(ARGV[i]) before trusting it).
local function is_int(n, low, high)
  return n ~= nil and n == math.floor(n) and n >= low and n <= high
end

if not REQUEST_TTL_MS or REQUEST_TTL_MS < 1 then
  return reject('request ttl must be a positive number of milliseconds')
end
