-- KEYS[1] - the post's like tally, actor:post_likes:{<id>} (fields count, version)
-- KEYS[2] - the request-result key, actor:post_likes:{<id>}:rq:toggle:<request id>
-- KEYS[3] - the set of users who like the post, actor:post_likes:{<id>}:members
-- ARGV[1..4] - kind, id, event channel, request ttl (see actors/_prelude.lua)
-- ARGV[5] - the user toggling their like, 1 to 64 bytes
-- returns JSON {"count": n, "liked": bool, "version": v}; publishes the change
local user = ARGV[5]
if not user or #user < 1 or #user > 64 then
  return reject('user must be 1 to 64 bytes')
end
local done = replayed()
if done then
  return done
end
local liked = redis.call('SADD', KEYS[3], user) == 1
if not liked then
  redis.call('SREM', KEYS[3], user)
end
local count = redis.call('SCARD', KEYS[3])
redis.call('HSET', KEYS[1], 'count', count)
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
announce({count = count}, version)
return finish(cjson.encode({count = count, liked = liked, version = version}))
