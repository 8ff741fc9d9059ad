-- KEYS[1] - the probe's tally, actor:alarmprobe:{<id>} (fields runs, count, pid)
-- KEYS[2] - the request-result key, actor:alarmprobe:{<id>}:rq:record:<request id>
-- KEYS[3] - actor:alarmprobe:{<id>}:times, a list of the Redis time of every run, in ms
-- ARGV[1..4] - kind, id, event channel, request ttl (see actors/_prelude.lua)
-- ARGV[5] - the process id of the worker running the handler
-- returns the number of runs so far; `count` grows once per request id, `runs` on every call
local runs = redis.call('HINCRBY', KEYS[1], 'runs', 1)
redis.call('HSET', KEYS[1], 'pid', ARGV[5])
redis.call('RPUSH', KEYS[3], string.format('%d', now_ms()))
if replayed() then
  return runs
end
redis.call('HINCRBY', KEYS[1], 'count', 1)
finish(runs)
return runs
