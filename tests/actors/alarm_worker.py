"""An alarm worker process for the multi-process tests: `python -m tests.actors.alarm_worker URL LEASE`."""

from __future__ import annotations

import asyncio
import sys

from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import create_redis
from actors.runtime import ActorSet

from . import alarm_probe  # noqa: F401  (declares the probe kind in this process)


async def main(url: str, lease: float) -> None:
    redis = create_redis(url)
    scheduler = AlarmScheduler(ActorSet(redis), AlarmPolicy(lease=lease, poll_interval=0.05))
    await scheduler.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
