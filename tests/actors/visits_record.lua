-- KEYS[1] - the page-visit tally, actor:visits:{<id>} (fields count, last_page, version)
-- KEYS[2] - the request-result key, actor:visits:{<id>}:rq:record:<request id>
-- ARGV[1..4] - kind, id, event channel, request ttl (see actors/_prelude.lua)
-- ARGV[5] - the page visited, 1 to 200 bytes
-- returns JSON {"count": n, "last_page": page, "version": v}; publishes the change
local page = ARGV[5]
if not page or #page < 1 or #page > 200 then
  return reject('page must be 1 to 200 bytes')
end
local done = replayed()
if done then
  return done
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last_page', page)
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
announce({count = count, last_page = page}, version)
return finish(cjson.encode({count = count, last_page = page, version = version}))
