"""CounterActor on real Redis: atomic increments, the {count, id, timestamp} contract, request ids."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from actors.connection import RedisClient
from actors.counter import CounterActor
from actors.keys import InvalidActorId, scoped


def parse_ts(value: str) -> datetime:
    assert value.endswith("Z") and len(value) == len("2026-11-29T03:04:05.123Z")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def test_counter_get_new_id_is_zero(redis: RedisClient, uid: str) -> None:
    state = await CounterActor(redis).get(f"{uid}-new")
    assert (state.count, state.id, state.version) == (0, f"{uid}-new", 0)


async def test_counter_increment_returns_the_web_contract(redis: RedisClient, uid: str) -> None:
    state = await CounterActor(redis).increment(uid)
    body = msgspec.json.decode(msgspec.json.encode(state))
    assert {k: body[k] for k in ("count", "id")} == {"count": 1, "id": uid}
    assert abs(parse_ts(body["timestamp"]) - datetime.now(UTC)) < timedelta(seconds=5)


async def test_counter_concurrent_increments_on_one_id_end_exact(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)

    async def worker() -> None:
        for _ in range(250):
            await counter.increment(uid)

    await asyncio.gather(*(worker() for _ in range(40)))
    assert (await counter.get(uid)).count == 10_000


async def test_counter_concurrent_increments_on_100_ids_end_exact(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    ids = [f"{uid}-{n}" for n in range(100)]

    async def worker(offset: int) -> None:
        for step in range(250):
            counter_id = ids[(offset + step) % 100]
            await counter.increment(counter_id, by=1 + (offset + step) % 100 % 3)

    await asyncio.gather(*(worker(o) for o in range(40)))
    expected = dict.fromkeys(ids, 0)
    for offset in range(40):
        for step in range(250):
            n = (offset + step) % 100
            expected[ids[n]] += 1 + n % 3
    states = await asyncio.gather(*(counter.get(i) for i in ids))
    assert {s.id: s.count for s in states} == expected


async def test_counter_versions_count_changes(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    results = await asyncio.gather(*(counter.increment(uid, by=2) for _ in range(30)))
    assert sorted(r.version for r in results) == list(range(1, 31))
    assert sorted(r.count for r in results) == list(range(2, 61, 2))


async def test_counter_repeated_request_id_applies_once(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    first = await counter.increment(uid, request_id="form-1")
    again = await asyncio.gather(*(counter.increment(uid, request_id="form-1") for _ in range(10)))
    other = await counter.increment(uid, request_id="form-2")
    assert all(a == first for a in again)
    assert (first.count, other.count) == (1, 2)
    assert (await counter.get(uid)).count == 2


async def test_counter_invalid_id_is_refused_before_redis(redis: RedisClient) -> None:
    with pytest.raises(InvalidActorId, match="invalid actor id"):
        await CounterActor(redis).increment("no spaces{}")


async def test_counter_invalid_request_id_is_refused(redis: RedisClient, uid: str) -> None:
    with pytest.raises(InvalidActorId, match="invalid request id"):
        await CounterActor(redis).increment(uid, request_id="x" * 65)


async def test_decrement_takes_away_and_a_zero_amount_is_refused(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    child = scoped(uid, "down")
    assert (await counter.decrement(child, by=3)).count == -3
    assert (await counter.in_tenant(uid)).counts == {"down": -3}
    with pytest.raises(ValueError, match="nonzero"):
        await counter.increment(child, by=0)
