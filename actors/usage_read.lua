-- KEYS[1] - the subject's usage actor, actor:usage:{<subject>}
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - the unit: h (hour buckets) or d (day buckets)
-- ARGV[6] - how many buckets, the current one and those before it, an integer from 1 to 400
-- returns JSON {"now": current bucket number, "buckets": [{event: count}, ...] newest first}
local unit, n = ARGV[5], tonumber(ARGV[6])
if unit ~= 'h' and unit ~= 'd' then
  return reject('unit must be h or d')
end
if not is_int(n, 1, 400) then
  return reject('n must be an integer from 1 to 400')
end
local seconds = math.floor(now_ms() / 1000)
local current = math.floor(seconds / (unit == 'h' and 3600 or 86400))
local buckets = {}
for back = 0, n - 1 do
  local counts = {}
  local flat = redis.call('HGETALL', slot_key(unit .. ':' .. (current - back)))
  for i = 1, #flat, 2 do
    counts[flat[i]] = tonumber(flat[i + 1])
  end
  buckets[back + 1] = counts
end
return cjson.encode({now = current, buckets = buckets})
