"""Redis actors: per-id state changed only by atomic Lua scripts, each change published as an event."""
