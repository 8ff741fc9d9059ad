-- KEYS[1] - the message's state hash, actor:outbox:{<id>}
-- KEYS[2] - unused (read-only operation)
-- ARGV[1..4] - kind, id, event channel, request ttl (see _prelude.lua)
-- returns JSON {"id", "status", "body", "sent_at", "sent_by"}; status "none" when there is no message
local fields = redis.call('HMGET', KEYS[1], 'status', 'body', 'sent_at', 'sent_by')
return cjson.encode({
  id = ID,
  status = fields[1] or 'none',
  body = fields[2] or '',
  sent_at = fields[3] or '',
  sent_by = fields[4] or '',
})
