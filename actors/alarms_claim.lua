-- KEYS[1] - one shard's due index, alarms:{<n>}:due (sorted set: member <kind>/<id>, score due ms)
-- KEYS[2] - the shard's leases, alarms:{<n>}:running (score: lease deadline ms)
-- ARGV[1] - lease length in milliseconds
-- ARGV[2] - how many to claim at most
-- returns {now ms, member...}: each member is now leased to the caller until now + lease
-- Expired leases (a worker that died mid-run) are claimed first; an alarm set again while its
-- previous firing still holds a lease waits for that lease instead of running beside it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local out = {now}
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)) do
  redis.call('ZADD', KEYS[2], deadline, member)
  out[#out + 1] = member
end
local room = limit - (#out - 1)
if room > 0 then
  local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, room)
  for _, member in ipairs(due) do
    local held = tonumber(redis.call('ZSCORE', KEYS[2], member))
    if held and held > now then
      redis.call('ZADD', KEYS[1], held, member)
    else
      redis.call('ZREM', KEYS[1], member)
      redis.call('ZADD', KEYS[2], deadline, member)
      out[#out + 1] = member
    end
  end
end
return out
