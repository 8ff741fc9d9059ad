"""Faults: SIGKILL, restart and SCRIPT FLUSH under load, and replies lost in the network."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.connection import create_redis
from actors.embedded import EmbeddedRedis
from tests.support.tally import TallyActor

from .faults import DroppingProxy

TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


async def poll(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s: {message}"
        await asyncio.sleep(0.005)


class Load:
    """Workers incrementing one tally, each call under its own request id; a call that fails
    is retried with the same id until acknowledged, as a careful client would."""

    def __init__(self, tally: TallyActor, tally_id: str, workers: int = 20) -> None:
        self.tally, self.tally_id, self.workers = tally, tally_id, workers
        self.acked: dict[str, int] = {}
        self.failures: list[float] = []  # monotonic start time of each failed attempt
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._worker(w)) for w in range(self.workers)]

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)

    async def _worker(self, w: int) -> None:
        n = 0
        while not self.stop.is_set():
            request_id = f"w{w}-{n}"
            while True:
                started = time.monotonic()
                try:
                    state = await self.tally.increment(self.tally_id, request_id=request_id)
                    break
                except TRANSIENT:
                    self.failures.append(started)
            self.acked[request_id] = state.count
            n += 1

    async def until_acked(self, n: int, timeout: float = 20) -> None:
        await poll(lambda: len(self.acked) >= n, timeout, f"{n} acknowledged increments")


async def run_with_fault(
    server: EmbeddedRedis,
    fault: Callable[[], Awaitable[float]],
    started: Callable[[Load], None] = lambda load: None,
) -> Load:
    client = create_redis(server.url)
    tally = TallyActor(client)
    load = Load(tally, "faulty")
    load.start()
    started(load)
    await load.until_acked(300)
    recovered_at = await fault()
    acked_at_recovery = len(load.acked)
    await load.until_acked(acked_at_recovery + 300)
    await load.finish()
    final = await tally.get("faulty")
    # No increment lost, none applied twice: each applied one was acknowledged exactly once.
    assert final.count == len(load.acked)
    assert sorted(load.acked.values()) == list(range(1, final.count + 1))
    assert not [t for t in load.failures if t > recovered_at]
    await client.aclose()
    return load


async def test_faults_sigkill_mid_stream_loses_no_acknowledged_increment(fresh_server: EmbeddedRedis) -> None:
    pids: list[int | None] = [fresh_server.pid]

    async def kill_and_restart() -> float:
        fresh_server.kill()
        # Stay down until callers have seen failures, so the outage is real, not only a blip.
        await poll(lambda: bool(load_ref and load_ref[0].failures), 10, "a failed call while down")
        fresh_server.start()  # same data dir: the AOF (appendfsync always) is replayed
        pids.append(fresh_server.pid)
        return time.monotonic()

    load_ref: list[Load] = []
    load = await run_with_fault(fresh_server, kill_and_restart, started=load_ref.append)
    assert load.failures
    assert pids[0] != pids[1]


async def test_faults_restart_mid_load_needs_no_app_restart(fresh_server: EmbeddedRedis) -> None:
    load_ref: list[Load] = []

    async def restart() -> float:
        await asyncio.to_thread(fresh_server.stop)  # SIGTERM: Redis finishes its AOF and exits
        await poll(lambda: bool(load_ref[0].failures), 10, "a failed call while down")
        fresh_server.start()  # from the main thread: the child's PDEATHSIG follows the forking thread
        return time.monotonic()

    load = await run_with_fault(fresh_server, restart, started=load_ref.append)
    assert load.failures


async def test_faults_script_flush_mid_load_fails_no_call(fresh_server: EmbeddedRedis) -> None:
    admin = create_redis(fresh_server.url)
    load_ref: list[Load] = []

    async def flush_repeatedly() -> float:
        started = time.monotonic()
        for _ in range(5):
            await admin.script_flush()
            acked = len(load_ref[0].acked)
            await load_ref[0].until_acked(acked + 50)  # calls run (and reload) between flushes
        return started

    load = await run_with_fault(fresh_server, flush_repeatedly, started=load_ref.append)
    assert not load.failures
    stats = await admin.info("commandstats")
    script_calls = sum(v["calls"] for k, v in stats.items() if k.startswith("cmdstat_script"))
    assert script_calls >= 1 + 5 + 5  # first load, 5 flushes, and a reload after each flush
    await admin.aclose()


async def test_faults_lost_replies_apply_each_request_once(fresh_server: EmbeddedRedis) -> None:
    proxy = DroppingProxy(fresh_server.port, drop_every=7)
    port = await proxy.start()
    client = create_redis(f"redis://127.0.0.1:{port}")
    tally = TallyActor(client)
    load = Load(tally, "lossy")
    load.start()
    await load.until_acked(1500, timeout=40)
    await load.finish()
    direct = create_redis(fresh_server.url)
    final = await TallyActor(direct).get("lossy")
    assert proxy.drops >= 20
    assert final.count == len(load.acked)
    assert sorted(load.acked.values()) == list(range(1, final.count + 1))
    await client.aclose()
    await direct.aclose()
    await proxy.close()


async def test_faults_lost_replies_double_apply_without_request_ids(fresh_server: EmbeddedRedis) -> None:
    # The control for the test above: the same proxy with a script that has no request id.
    proxy = DroppingProxy(fresh_server.port, drop_every=7)
    port = await proxy.start()
    client = create_redis(f"redis://127.0.0.1:{port}")
    acked = 0
    for _ in range(100):
        await client.eval("return redis.call('INCR', KEYS[1])", 1, "plain")
        acked += 1
    direct = create_redis(fresh_server.url)
    # Each dropped reply of an EVAL was retried by redis-py and applied twice (a drop during a
    # connection handshake instead costs no duplicate, hence <=).
    assert acked < int(await direct.get("plain") or 0) <= acked + proxy.drops
    await client.aclose()
    await direct.aclose()
    await proxy.close()
