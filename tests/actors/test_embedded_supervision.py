"""The supervised embedded server: restarted on its own AOF after SIGKILL, never after stop()."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import redis as redis_sync
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from actors.connection import create_redis
from actors.embedded import EmbeddedRedis
from tests.support.server import redis_pids_for
from tests.support.tally import TallyActor

from .conftest import short_tmpdir, wait_until

N = 50


def answers(server: EmbeddedRedis) -> bool:
    # No retries: the question is whether it answers now.
    client = redis_sync.Redis(
        unix_socket_path=str(server.socket_path), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def supervisors() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "embedded-redis")


@pytest.fixture
def supervised() -> Iterator[EmbeddedRedis]:
    directory = short_tmpdir()
    server = EmbeddedRedis(directory)
    server.start()
    server.supervise()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


async def test_supervised_server_comes_back_after_sigkill_with_every_acknowledged_write(
    supervised: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="actors.embedded")
    redis = create_redis(supervised.url)
    tally = TallyActor(redis)
    acknowledged = [(await tally.increment("survivor")).count for _ in range(N)]
    assert acknowledged == list(range(1, N + 1))
    killed = supervised.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    deadline = time.monotonic() + 10
    count: int | None = None
    while count is None:
        assert time.monotonic() < deadline, "the supervised server did not answer again within 10 s"
        try:
            count = (await tally.get("survivor")).count
        except RedisError:
            await asyncio.sleep(0.02)
    await redis.aclose()

    assert count == N
    assert supervised.pid not in (None, killed)
    assert redis_pids_for(supervised.data_dir) == [supervised.pid]
    # The server answers a moment before the supervisor, done waiting for it, writes the line.
    wait_until(lambda: any("restarted" in r.getMessage() for r in caplog.records), 5, "the restart logged")
    (line,) = [r.getMessage() for r in caplog.records if "restarted" in r.getMessage()]
    assert f"pid {killed} died (killed by SIGKILL); restarted as pid {supervised.pid}" in line


def test_stop_right_after_a_crash_restarts_nothing(supervised: EmbeddedRedis) -> None:
    killed = supervised.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    # Stop at once: the supervisor is waking up (or already restarting) and must end with no server.
    supervised.stop()
    assert supervised.process is None
    assert not answers(supervised)
    assert redis_pids_for(supervised.data_dir) == []


def test_stop_ends_the_server_and_its_supervisor(supervised: EmbeddedRedis) -> None:
    running = supervisors()
    assert answers(supervised) and running >= 1
    supervised.stop()
    wait_until(lambda: not redis_pids_for(supervised.data_dir), 10, "the server exited")
    assert not answers(supervised)
    assert supervisors() == running - 1


def test_a_failed_restart_is_logged_and_retried(
    supervised: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="actors.embedded")
    client = redis_sync.Redis(unix_socket_path=str(supervised.socket_path))
    client.incr("kept")
    client.close()
    # A damaged AOF makes the server refuse to start: the supervisor keeps trying, with backoff.
    (incr,) = (supervised.directory / "appendonlydir").glob("*.incr.aof")
    intact = incr.read_bytes()
    incr.write_bytes(intact + b"damaged\r\n")
    killed = supervised.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records]

    wait_until(lambda: any("restart failed" in m for m in messages()), 10, "the failed restart logged")
    assert not answers(supervised)
    incr.write_bytes(intact)
    restarted = f"pid {killed} died (killed by SIGKILL); restarted"
    wait_until(lambda: any(restarted in m for m in messages()), 10, "a later attempt restarted the server")
    client = redis_sync.Redis(unix_socket_path=str(supervised.socket_path))
    assert client.get("kept") == b"1"
    client.close()


def test_a_server_that_keeps_dying_young_is_restarted_with_backoff(
    supervised: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="actors.embedded")

    def restart_took(killed: int) -> float:
        os.kill(killed, signal.SIGKILL)
        found: list[str] = []

        def logged() -> bool:
            found.extend(m for r in caplog.records if f"pid {killed} died" in (m := r.getMessage()))
            return bool(found)

        wait_until(logged, 10, f"the restart after pid {killed} logged")
        return float(found[0].rsplit(" in ", 1)[1].rstrip("s"))

    first = supervised.pid
    assert first is not None
    assert restart_took(first) < 1.0  # a first crash: restarted at once
    second = supervised.pid
    assert second is not None and second != first
    assert restart_took(second) >= 1.0  # dead again within seconds of starting: it waits
