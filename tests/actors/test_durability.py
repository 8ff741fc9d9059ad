"""Durability settings check, WAITAOF detection and the /readyz probe, on real servers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from actors.connection import RedisClient, create_redis
from actors.durability import check_durability, probe, supports_waitaof
from actors.embedded import EmbeddedRedis, find_redis_server
from actors.scripts import DurabilityError, ScriptRunner, WaitAof
from tests.support.tally import TallyActor

from .conftest import short_tmpdir, version_of


def server_with(*args: str) -> Iterator[EmbeddedRedis]:
    directory = short_tmpdir()
    server = EmbeddedRedis(directory, extra_args=args)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def careless_server() -> Iterator[EmbeddedRedis]:
    yield from server_with("--appendonly", "no", "--maxmemory-policy", "allkeys-lru")


@pytest.fixture
def locked_down_server() -> Iterator[EmbeddedRedis]:
    # Managed Redis services often refuse CONFIG; renaming it away is how a server does that.
    yield from server_with("--rename-command", "CONFIG", "")


@pytest.fixture
def server_before_7_2() -> Iterator[EmbeddedRedis]:
    # What a Redis older than 7.2 answers to WAITAOF: an unknown command (renamed away on 7.2+).
    older = version_of(str(find_redis_server())) < (7, 2)
    yield from server_with() if older else server_with("--rename-command", "WAITAOF", "")


@pytest.fixture
async def client_of(request: pytest.FixtureRequest) -> AsyncIterator[RedisClient]:
    server: EmbeddedRedis = request.getfixturevalue(request.param)
    client = create_redis(server.url)
    yield client
    await client.aclose()


@pytest.mark.parametrize("client_of", ["actor_server"], indirect=True)
async def test_check_durability_embedded_has_no_warnings(client_of: RedisClient) -> None:
    assert await check_durability(client_of) == []


@pytest.mark.parametrize("client_of", ["careless_server"], indirect=True)
async def test_check_durability_warns_about_aof_off_and_eviction(client_of: RedisClient) -> None:
    warnings = await check_durability(client_of)
    assert len(warnings) == 2
    assert "AOF is off" in warnings[0]
    assert "allkeys-lru" in warnings[1]


@pytest.mark.parametrize("client_of", ["locked_down_server"], indirect=True)
async def test_check_durability_says_when_it_cannot_check(client_of: RedisClient) -> None:
    (warning,) = await check_durability(client_of)
    assert warning.startswith("could not check Redis durability settings")


@pytest.mark.parametrize("client_of", ["server_before_7_2"], indirect=True)
async def test_supports_waitaof_is_false_without_the_command(client_of: RedisClient) -> None:
    assert await supports_waitaof(client_of) is False


@pytest.mark.parametrize("client_of", ["server_before_7_2"], indirect=True)
async def test_wait_aof_mode_refuses_a_server_without_waitaof(client_of: RedisClient) -> None:
    actor = TallyActor(client_of, runner=ScriptRunner(client_of, wait_aof=WaitAof()))
    with pytest.raises(DurabilityError, match=r"needs Redis 7\.2"):
        await actor.increment("waitaof-refused")


@pytest.mark.parametrize("client_of", ["actor_server"], indirect=True)
async def test_probe_runs_a_script_even_after_script_flush(client_of: RedisClient) -> None:
    assert await probe(client_of) > 0
    await client_of.script_flush()
    assert await probe(client_of) > 0


async def test_probe_fails_when_redis_is_down(fresh_server: EmbeddedRedis) -> None:
    client = create_redis(fresh_server.url)
    await probe(client)
    fresh_server.kill()
    with pytest.raises(RedisConnectionError):
        await probe(client)
    await client.aclose()
