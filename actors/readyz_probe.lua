-- KEYS[1] - the probe's own key, readyz:{probe} (only read, never written)
-- returns 1: scripts load and run, and the key's node answers
redis.call('EXISTS', KEYS[1])
return 1
