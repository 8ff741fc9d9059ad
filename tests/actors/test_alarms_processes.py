"""Alarms across worker processes: each runs exactly once, and a killed worker's alarm runs again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.connection import RedisClient
from actors.keys import actor_key

from .alarm_probe import AlarmProbeActor
from .conftest import on_every_backend
from .test_alarms import eventually, field, is_

ROOT = Path(__file__).resolve().parents[2]


class Workers:
    """Alarm worker subprocesses (tests/actors/alarm_worker.py) on one Redis, stopped at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, count: int, *, lease: float) -> list[int]:
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.actors.alarm_worker", self.url, str(lease)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        self.procs.extend(started)
        for proc in started:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", "the worker did not start"
        return [proc.pid for proc in started]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def workers(backend_url: str) -> Iterator[Workers]:
    group = Workers(backend_url)
    yield group
    group.stop()


async def test_alarms_1000_due_at_once_run_exactly_once_across_two_processes(
    redis: RedisClient, uid: str, workers: Workers
) -> None:
    pids = workers.start(2, lease=30.0)
    probe = AlarmProbeActor(redis)
    ids = [f"{uid}-{n}" for n in range(1000)]
    at = time.time() + 1.0
    await asyncio.gather(*(probe.set_alarm(i, at=at, payload={}) for i in ids))

    async def tallies(name: str) -> list[int | None]:
        pipe = redis.pipeline(transaction=False)
        for actor_id in ids:
            pipe.hget(actor_key("alarmprobe", actor_id), name)
        return [None if v is None else int(v) for v in await pipe.execute()]

    async def all_ran() -> bool:
        return None not in await tallies("count")

    await eventually(all_ran, 60, "all 1,000 alarms ran")
    finished = time.time()
    assert await tallies("runs") == [1] * 1000
    assert await tallies("count") == [1] * 1000
    ran_in = {v for v in await tallies("pid") if v is not None}
    assert ran_in == set(pids)  # both processes took a share
    print(f"1,000 alarms due at once: all ran {finished - at:.2f} s after their time")


@on_every_backend
async def test_alarm_of_a_killed_worker_runs_again_after_the_lease_and_applies_once(
    redis: RedisClient, uid: str, workers: Workers
) -> None:
    workers.start(2, lease=1.5)
    probe = AlarmProbeActor(redis)
    await probe.set_alarm(uid, at=time.time(), payload={"hang_first": True})
    await eventually(lambda: is_(field(redis, uid, "runs"), 1), 10, "a worker started the alarm")
    victim = await field(redis, uid, "pid")
    assert victim is not None
    os.kill(victim, signal.SIGKILL)

    async def finished() -> bool:
        return await probe.get_alarm(uid) is None

    await eventually(finished, 15, "the alarm ran again after the lease and finished")
    runs = await field(redis, uid, "runs")
    assert runs is not None and runs >= 2
    assert await field(redis, uid, "count") == 1  # the same request id: the effect applied once
    assert await field(redis, uid, "pid") != victim
