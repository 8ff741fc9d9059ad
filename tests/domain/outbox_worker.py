"""An outbox worker process for the two-worker test: `python -m tests.domain.outbox_worker REDIS SMTP`."""

from __future__ import annotations

import asyncio
import sys

from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import create_redis
from actors.runtime import ActorSet
from domain.mail import SmtpMailer, parse_smtp_url
from domain.outbox import Outbox


async def main(redis_url: str, smtp_url: str) -> None:
    redis = create_redis(redis_url)
    Outbox(redis, SmtpMailer(parse_smtp_url(smtp_url), "App <no-reply@example.com>"))
    scheduler = AlarmScheduler(ActorSet(redis), AlarmPolicy(poll_interval=0.05))
    await scheduler.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
