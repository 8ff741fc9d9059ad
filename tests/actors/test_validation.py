"""Every Lua script validates its arguments before its first write: bad arguments change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.connection import RedisClient, create_redis
from actors.counter import CounterActor
from actors.embedded import EmbeddedRedis
from actors.fleet import FleetActor
from actors.keys import actor_channel, actor_key
from actors.preferences import PreferencesActor
from actors.ratelimit import RateLimitActor
from actors.runtime import Actor, Operation
from actors.scripts import InvalidActorArgument
from actors.usage import UsageActor


@pytest.fixture
async def own_redis(fresh_server: EmbeddedRedis) -> AsyncIterator[RedisClient]:
    client = create_redis(fresh_server.url)
    yield client
    await client.aclose()


async def snapshot(redis: RedisClient) -> dict[bytes, object]:
    keys = sorted(key for key in await redis.keys("*") if isinstance(key, bytes))
    return {key: await redis.dump(key) for key in keys}


BAD_CALLS: list[tuple[type[Actor], str, tuple[str | int | float, ...]]] = [
    (CounterActor, "_increment", (0,)),
    (CounterActor, "_increment", (-3,)),
    (CounterActor, "_increment", (1.5,)),
    (CounterActor, "_increment", ("ten",)),
    (CounterActor, "_increment", (10**10,)),
    (CounterActor, "_increment", ()),
    (RateLimitActor, "_hit", (0, 1000, 1)),
    (RateLimitActor, "_hit", (5, 0, 1)),
    (RateLimitActor, "_hit", (5, 1000, 6)),
    (RateLimitActor, "_hit", (5, 1000, "x")),
    (RateLimitActor, "_hit", (5, 1.5, 1)),
    (PreferencesActor, "_update", ("blue", "", "")),
    (PreferencesActor, "_update", ("", "e", "")),
    (PreferencesActor, "_update", ("", "", "a b")),
    (PreferencesActor, "_update", ("dark", "en", "x" * 65)),
    (PreferencesActor, "_update", ("", "", "")),
    (UsageActor, "_record", ("Upper", 1, 3600, 86400)),
    (UsageActor, "_record", ("a b", 1, 3600, 86400)),
    (UsageActor, "_record", ("ok", 0, 3600, 86400)),
    (UsageActor, "_record", ("ok", 1, 0, 86400)),
    (UsageActor, "_record", ("ok", 1, 3600, 10**9)),
    (UsageActor, "_read", ("w", 1)),
    (UsageActor, "_read", ("d", 0)),
    (UsageActor, "_read", ("d", 401)),
    (FleetActor, "_get", ("seed", "Counter")),
]


@pytest.mark.parametrize(("actor_class", "op", "args"), BAD_CALLS)
async def test_scripts_bad_arguments_leave_keyspace_unchanged(
    own_redis: RedisClient, actor_class: type[Actor], op: str, args: tuple[str | int | float, ...]
) -> None:
    await CounterActor(own_redis).increment("seed")
    await PreferencesActor(own_redis).update("seed", theme="dark")
    await RateLimitActor(own_redis).hit("seed", limit=5, window_seconds=60)
    await UsageActor(own_redis).record("seed", "seed")
    before = await snapshot(own_redis)
    actor = actor_class(own_redis)
    operation: Operation = getattr(actor_class, op)
    with pytest.raises(InvalidActorArgument):
        await actor.call(operation, "seed", args)
    assert await snapshot(own_redis) == before


@pytest.mark.parametrize("ttl", [0, -5, "soon"])
async def test_scripts_bad_request_ttl_leaves_keyspace_unchanged(
    own_redis: RedisClient, ttl: str | int
) -> None:
    await CounterActor(own_redis).increment("seed")
    before = await snapshot(own_redis)
    script = CounterActor._increment.script
    assert script is not None
    key = actor_key("counter", "seed")
    argv: list[str | int | float] = ["counter", "seed", actor_channel("counter", "seed"), ttl, 1]
    with pytest.raises(InvalidActorArgument, match="request ttl"):
        await CounterActor(own_redis).runner.run(script, [key, f"{key}:rq:increment:r"], argv)
    assert await snapshot(own_redis) == before


@settings(max_examples=200, deadline=None)
@given(ms=st.integers(min_value=0, max_value=253_402_300_799_999))
def test_prelude_iso8601_matches_python(actor_server: EmbeddedRedis, ms: int) -> None:
    import redis as sync_redis

    prelude = resources.files("actors").joinpath("_prelude.lua").read_text()
    body = prelude + "\nreturn iso8601(tonumber(ARGV[5]))"
    client = sync_redis.Redis(unix_socket_path=str(actor_server.socket_path))
    try:
        got = client.eval(body, 0, "k", "i", "c", 1, ms)
    finally:
        client.close()
    expected = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    assert got.decode() == expected
