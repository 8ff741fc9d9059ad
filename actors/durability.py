"""What durability depends on: server settings check, WAITAOF detection, and a script-running probe."""

from __future__ import annotations

import time

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from actors.connection import RedisClient
from actors.scripts import Script, runner_for, supports_waitaof

__all__ = ["check_durability", "probe", "supports_waitaof"]

# Its own key and script: the probe depends on no actor kind the app may or may not declare.
PROBE_KEY = "readyz:{probe}"
_PROBE = Script.from_package(__package__ or "actors", "readyz_probe.lua", prelude=False)


async def _config(redis: RedisClient, name: str) -> list[str]:
    """The setting's value on every primary (one value for a single server)."""
    if isinstance(redis, RedisCluster):
        values = []
        for node in redis.get_primaries():
            reply = await redis.execute_command("CONFIG", "GET", name, target_nodes=node)
            values.append(_value(reply, name))
        return values
    return [_value(await redis.execute_command("CONFIG", "GET", name), name)]  # type: ignore[no-untyped-call]


def _value(reply: object, name: str) -> str:
    if isinstance(reply, dict):
        raw = reply.get(name.encode(), reply.get(name, b""))
    elif isinstance(reply, list | tuple) and len(reply) >= 2:
        raw = reply[1]
    else:
        raw = b""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def check_durability(redis: RedisClient) -> list[str]:
    """Warnings (empty when fine) about settings that can lose acknowledged actor writes."""
    warnings: list[str] = []
    try:
        aof = await _config(redis, "appendonly")
        fsync = await _config(redis, "appendfsync")
        policy = await _config(redis, "maxmemory-policy")
    except ResponseError as exc:
        return [
            f"could not check Redis durability settings (CONFIG GET refused: {exc}); make sure "
            "AOF is on (appendonly yes) and maxmemory-policy is noeviction"
        ]
    if any(v != "yes" for v in aof):
        warnings.append(
            "Redis AOF is off (appendonly no): a restart loses actor state written since the last snapshot"
        )
    elif any(v != "always" for v in fsync):
        warnings.append(
            f"Redis appendfsync is {'/'.join(sorted(set(fsync)))}: a crash can lose up to about a second of "
            "acknowledged writes (use appendfsync always, or WAITAOF on Redis 7.2+)"
        )
    if any(v != "noeviction" for v in policy):
        warnings.append(
            f"Redis maxmemory-policy is {'/'.join(sorted(set(policy)))}: under memory pressure Redis may "
            "evict actor state; use noeviction"
        )
    return warnings


async def probe(redis: RedisClient) -> float:
    """Run a real actor script (a read) end to end for /readyz; returns its latency in seconds.

    Raises RedisError (or OSError) when Redis is unreachable or scripts cannot run.
    """
    started = time.perf_counter()
    await runner_for(redis).run(_PROBE, [PROBE_KEY], (), mutating=False)
    return time.perf_counter() - started
