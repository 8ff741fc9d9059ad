"""UsageActor on real Redis: time-bucketed counts with TTLs, exact under concurrency, read back by day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from actors.connection import RedisClient
from actors.keys import actor_key
from actors.runtime import InvalidActorArgument
from actors.usage import DAYS_KEPT, HOURS_KEPT, UsageActor, tenant_subject, user_subject

from .conftest import on_every_backend


@on_every_backend
async def test_usage_counts_exact_after_1000_concurrent_records(redis: RedisClient, uid: str) -> None:
    usage = UsageActor(redis)
    tenant, alice, bob = tenant_subject(uid), user_subject(f"{uid}-alice"), user_subject(f"{uid}-bob")

    async def call(n: int) -> None:
        event = "counter.increment" if n % 4 else "counter.reset"
        user = alice if n % 3 else bob
        await asyncio.gather(usage.record(tenant, event), usage.record(user, event))

    await asyncio.gather(*(call(n) for n in range(1000)))
    today = (await usage.days(tenant, 1))[-1]
    assert today.counts == {"counter.increment": 750, "counter.reset": 250}
    assert (await usage.hours(tenant, 1))[-1].counts == today.counts
    alice_today, bob_today = (await usage.days(alice, 1))[-1], (await usage.days(bob, 1))[-1]
    assert sum(alice_today.counts.values()) == sum(1 for n in range(1000) if n % 3)
    assert sum(bob_today.counts.values()) == sum(1 for n in range(1000) if n % 3 == 0)


async def test_usage_days_are_utc_days_oldest_first_with_ttls(redis: RedisClient, uid: str) -> None:
    usage = UsageActor(redis)
    subject = user_subject(uid)
    assert await usage.record(subject, "page.view", by=3) == {"hour": 3, "day": 3}
    days = await usage.days(subject, 30)
    assert len(days) == 30
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(days[-1].start - today) <= timedelta(days=1)  # Redis's clock, not ours
    assert [d.start for d in days] == [days[-1].start - timedelta(days=29 - i) for i in range(30)]
    assert [d.count("page.view") for d in days] == [0] * 29 + [3]
    day_number = int(days[-1].start.timestamp()) // 86400
    day_key = actor_key("usage", subject, f"d:{day_number}")
    assert await redis.hget(day_key, "page.view") == b"3"
    assert 0 < await redis.ttl(day_key) <= DAYS_KEPT * 86400
    hour_number = int((await usage.hours(subject, 1))[-1].start.timestamp()) // 3600
    assert 0 < await redis.ttl(actor_key("usage", subject, f"h:{hour_number}")) <= HOURS_KEPT * 3600


async def test_usage_refuses_bad_events_and_ranges(redis: RedisClient, uid: str) -> None:
    usage = UsageActor(redis)
    for event in ("", "Upper", "a b", "x" * 65, "<script>"):
        with pytest.raises(ValueError, match="invalid usage event"):
            await usage.record(user_subject(uid), event)
    with pytest.raises(InvalidActorArgument, match="amount"):
        await usage.record(user_subject(uid), "ok", by=0)
    for n in (0, DAYS_KEPT + 1):
        with pytest.raises(ValueError, match="n must be"):
            await usage.days(user_subject(uid), n)
    assert (await usage.days(user_subject(uid), 1))[-1].counts == {}


async def test_usage_record_with_a_request_id_counts_once(redis: RedisClient, uid: str) -> None:
    usage = UsageActor(redis)
    first = await usage.record(tenant_subject(uid), "export", request_id="r-1")
    assert await usage.record(tenant_subject(uid), "export", request_id="r-1") == first
    assert (await usage.days(tenant_subject(uid), 1))[-1].counts == {"export": 1}
