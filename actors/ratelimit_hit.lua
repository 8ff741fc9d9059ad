-- KEYS[1] - the limiter's state, actor:ratelimit:{<hashed key>}: the theoretical arrival time (ms)
-- KEYS[2] - the request-result key, actor:ratelimit:{<hashed key>}:rq:hit:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- ARGV[5] - limit: how many units fit in one window, an integer from 1 to 1000000
-- ARGV[6] - window in milliseconds, an integer from 1 to 31536000000 (a year)
-- ARGV[7] - cost of this hit, an integer from 1 to limit
-- returns JSON {"allowed": bool, "remaining": n, "retry_after": seconds, "limit": limit}
-- A token bucket in GCRA form: a bucket of `limit` tokens refilled one every window/limit ms.
-- No event is published: hits are frequent, nobody renders them, and keys may stand for emails.
local limit, window, cost = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if not is_int(limit, 1, 1000000) then
  return reject('limit must be an integer from 1 to 1000000')
end
if not is_int(window, 1, 31536000000) then
  return reject('window must be an integer number of milliseconds from 1 to 31536000000')
end
if not is_int(cost, 1, limit) then
  return reject('cost must be an integer from 1 to limit')
end
local done = replayed()
if done then
  return done
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = window / limit
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + cost * interval
-- The epsilon absorbs float rounding so a burst of exactly `limit` units fits.
local allowed = new_tat - now <= window + 1e-6
local decision
if allowed then
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now))
  decision = {allowed = true, remaining = math.floor((window - (new_tat - now)) / interval + 1e-6),
              retry_after = 0, limit = limit}
else
  decision = {allowed = false, remaining = math.max(0, math.floor((window - (tat - now)) / interval + 1e-6)),
              retry_after = (new_tat - now - window) / 1000, limit = limit}
end
return finish(cjson.encode(decision))
