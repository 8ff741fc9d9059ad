-- KEYS[1] - alarms:{<n>}:due, KEYS[2] - alarms:{<n>}:running, KEYS[3] - alarms:{<n>}:retrying,
-- KEYS[4] - alarms:{<n>}:dead (sorted sets of members <kind>/<id>, one shard)
-- ARGV[1] - what happened: schedule, cancel, done, later, requeue, retry or dead
-- ARGV[2] - the member
-- ARGV[3] - the score: due time in ms (schedule, later, requeue, retry) or time of death (dead)
-- returns 1
-- The actor's alarm record (its own slot) is the truth; this index only says when to look at it.
local action, member, score = ARGV[1], ARGV[2], ARGV[3]
if action == 'schedule' then
  redis.call('ZADD', KEYS[1], score, member)
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZREM', KEYS[4], member)
elseif action == 'cancel' then
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZREM', KEYS[4], member)
elseif action == 'done' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
elseif action == 'later' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], score, member)
elseif action == 'requeue' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZADD', KEYS[1], score, member)
elseif action == 'retry' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], score, member)
  redis.call('ZADD', KEYS[3], score, member)
elseif action == 'dead' then
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZADD', KEYS[4], score, member)
else
  return redis.error_reply('EINVAL unknown index action ' .. tostring(action))
end
return 1
