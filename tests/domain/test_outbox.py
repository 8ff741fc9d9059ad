"""The mail outbox on real Redis and a real SMTP server: each mail is delivered once, whoever runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from actors.alarms import AlarmScheduler
from actors.connection import RedisClient, create_redis
from actors.runtime import ActorSet
from domain.mail import Mail, SmtpMailer, parse_smtp_url
from domain.outbox import Outbox
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
SENDER = "App <no-reply@example.com>"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink("plain").start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[RedisClient]:
    client = create_redis(redis_url)
    yield client
    await client.aclose()


async def eventually(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        await asyncio.sleep(0.02)


def received_ids(sink: SmtpSink) -> list[str]:
    ids = []
    while not sink.inbox.empty():
        ids.append(str(sink.inbox.get().message["Message-ID"]).strip("<>").partition("@")[0])
    return ids


async def test_two_worker_processes_send_each_mail_once(
    redis_url: str, redis: RedisClient, sink: SmtpSink
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.domain.outbox_worker", redis_url, sink.url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # This process queues only: it runs no scheduler, so every delivery is a worker's.
        outbox = Outbox(redis, SmtpMailer(parse_smtp_url(sink.url), SENDER))
        queued = await asyncio.gather(
            *(outbox.send(Mail(to=f"u{n}@example.com", subject=f"n{n}", text="hi")) for n in range(40))
        )

        async def all_sent() -> bool:
            states = await asyncio.gather(*(outbox.actor.get(i) for i in queued))
            return all(s.status == "sent" for s in states)

        await eventually(all_sent, 30, "all 40 mails marked sent")
        assert Counter(received_ids(sink)) == Counter(queued)  # each once, none extra
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


async def test_a_sent_mail_is_not_sent_again_when_its_alarm_fires_again(
    redis: RedisClient, sink: SmtpSink
) -> None:
    outbox = Outbox(redis, SmtpMailer(parse_smtp_url(sink.url), SENDER))
    scheduler = AlarmScheduler(ActorSet(redis))
    message_id = await outbox.send(Mail(to="ada@example.com", subject="Hello", text="hi"))
    assert await scheduler.run_due() == 1
    assert received_ids(sink) == [message_id]
    # A re-run (a worker that died after sending but before its alarm was finished) finds it sent.
    await outbox.actor.set_alarm(message_id, at=time.time())
    assert await scheduler.run_due() == 1
    assert received_ids(sink) == []
    assert (await outbox.actor.get(message_id)).body == ""  # content is dropped once sent
