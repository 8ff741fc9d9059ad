-- KEYS[1] - alarms:{<n>}:due, KEYS[2] - alarms:{<n>}:running, KEYS[3] - alarms:{<n>}:retrying,
-- KEYS[4] - alarms:{<n>}:dead (sorted sets of members <kind>/<id>, one shard)
-- ARGV[1] - what happened: schedule, cancel, done, later, requeue, retry, dead or repair
-- ARGV[2] - the member
-- ARGV[3] - the score: due time in ms (schedule, later, requeue, retry, live repair) or time of death
--           (dead, dead repair)
-- ARGV[4] - repair only: the record's state as read, live or dead
-- returns 1; repair returns 1 when it indexed the member, 0 when an index set already names it
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
elseif action == 'repair' then
  -- A record whose writer died between it and this index (set_alarm, alarms retry): index it as
  -- the record says, unless a set names it (a firing, or a write that came after the record was read).
  if redis.call('ZSCORE', KEYS[1], member) or redis.call('ZSCORE', KEYS[2], member) then
    return 0
  end
  if ARGV[4] == 'dead' then
    if redis.call('ZSCORE', KEYS[4], member) then
      return 0
    end
    redis.call('ZADD', KEYS[4], score, member)
  else
    redis.call('ZREM', KEYS[4], member)
    redis.call('ZADD', KEYS[1], score, member)
  end
  return 1
else
  return redis.error_reply('EINVAL unknown index action ' .. tostring(action))
end
return 1
