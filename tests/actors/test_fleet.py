"""The fleet pattern: a tenant's counters listed in its FleetActor's index, kept exact by each script."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest
from redis.crc import key_slot

from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import RedisClient, create_redis
from actors.counter import CounterActor
from actors.fleet import FleetActor, fleet_kinds
from actors.keys import actor_channel, actor_key, fleet_keys, scoped
from actors.listen import EventHub
from actors.runtime import Actor, ActorSet, registered

from .conftest import delete_test_keys, on_every_backend
from .test_alarms import eventually

CHILDREN = 100
CALLERS = 40


@pytest.fixture
async def clients(backend_url: str, uid: str) -> AsyncIterator[list[RedisClient]]:
    """Four clients of their own (four script runners, four connection pools) on one Redis."""
    made = [create_redis(backend_url) for _ in range(4)]
    yield made
    await delete_test_keys(made[0], uid)
    for client in made:
        await client.aclose()


async def churn(clients: list[RedisClient], tenant: str) -> None:
    """Create 100 children from many callers, then increment and delete them at random, concurrently."""
    counters = [CounterActor(client) for client in clients]
    names = [f"c{n}" for n in range(CHILDREN)]

    async def create(n: int) -> None:
        await counters[n % len(counters)].increment(scoped(tenant, names[n]), by=n + 1)

    await asyncio.gather(*(create(n) for n in range(CHILDREN)))
    listed = await counters[0].in_tenant(tenant)
    assert listed.counts == {name: n + 1 for n, name in enumerate(names)}
    assert listed.total == sum(range(1, CHILDREN + 1))

    async def caller(seed: int) -> None:
        rng = random.Random(seed)
        counter = counters[seed % len(counters)]
        for _ in range(30):
            child = scoped(tenant, rng.choice(names))
            if rng.random() < 0.3:
                await counter.delete(child)
            else:
                await counter.increment(child, by=rng.randint(1, 5))

    await asyncio.gather(*(caller(seed) for seed in range(CALLERS)))


async def assert_index_matches_live_children(redis: RedisClient, tenant: str) -> int:
    """The fleet lists exactly the children whose state exists, each with its real count."""
    counter = CounterActor(redis)
    names = [f"c{n}" for n in range(CHILDREN)]
    exists = await asyncio.gather(*(redis.exists(actor_key("counter", scoped(tenant, n))) for n in names))
    live = {name for name, there in zip(names, exists, strict=True) if there}
    states = await asyncio.gather(*(counter.get(scoped(tenant, n)) for n in sorted(live)))
    listed = await counter.in_tenant(tenant)
    assert listed.counts == {name: s.count for name, s in zip(sorted(live), states, strict=True)}
    assert listed.total == sum(s.count for s in states)
    return len(live)


@on_every_backend
async def test_fleet_index_equals_live_children_after_concurrent_churn(
    clients: list[RedisClient], uid: str
) -> None:
    await churn(clients, uid)
    live = await assert_index_matches_live_children(clients[0], uid)
    assert 0 < live < CHILDREN  # the churn both deleted and kept children
    counter = CounterActor(clients[1])
    await asyncio.gather(*(counter.delete(scoped(uid, f"c{n}")) for n in range(CHILDREN)))
    assert (await counter.in_tenant(uid)).counts == {}
    assert await assert_index_matches_live_children(clients[0], uid) == 0


def test_fleet_keys_share_the_tenant_slot() -> None:
    tenants = [f"tenant-{n}" for n in range(12)]
    slots = {key_slot(actor_key("counter", scoped(t, "a")).encode()) for t in tenants}
    assert len(slots) > 1  # tenants spread over the cluster...
    for tenant in tenants:  # ...and each tenant's keys sit in one slot
        keys = [
            actor_key("counter", scoped(tenant, "a")),
            actor_key("counter", scoped(tenant, "b"), "rq", "increment", "r1"),
            *fleet_keys(scoped(tenant), "counter"),
            actor_key("usage", scoped(tenant, "usage"), "d:20000"),
        ]
        assert len({key_slot(k.encode()) for k in keys}) == 1


async def test_fleet_lists_only_tenant_counters_and_announces_changes(redis: RedisClient, uid: str) -> None:
    counter, fleet = CounterActor(redis), FleetActor(redis)
    assert "counter" in fleet_kinds()
    await counter.increment(f"{uid}-plain")  # a plain id belongs to no tenant
    await counter.increment(scoped(f"{uid}-other.x", "a"))  # nor to another tenant's fleet
    hub = EventHub(redis)
    async with hub.subscribe("fleet", scoped(uid)) as events:
        await counter.increment(scoped(uid, "a"), by=3)
        await counter.delete(scoped(uid, "a"))
        created, deleted = [await asyncio.wait_for(anext(events), 5) for _ in range(2)]
    await hub.aclose()
    assert getattr(created, "state", None) == {"kind": "counter", "name": "a", "summary": {"count": 3}}
    assert getattr(deleted, "state", None) == {"kind": "counter", "name": "a", "summary": None}
    assert [getattr(created, "version", 0), getattr(deleted, "version", 0)] == [1, 2]
    state = await fleet.get(uid)
    assert (state.children, state.version) == ({"counter": {}}, 2)
    assert (await counter.in_tenant(f"{uid}-other.x")).counts == {"a": 1}
    assert actor_channel("fleet", scoped(uid)) == f"actor:fleet:org:{{{uid}}}:events"


async def test_deleted_counter_starts_again_from_zero(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    child = scoped(uid, "again")
    await counter.increment(child, by=5)
    gone = await counter.delete(child, request_id="del-1")
    assert (gone.count, gone.version) == (0, 2)
    assert await counter.delete(child, request_id="del-1") == gone  # a repeat applies once
    assert (await counter.increment(child)).count == 1
    assert (await counter.in_tenant(uid)).counts == {"again": 1}


async def test_alarm_on_a_tenant_counter_resets_it_and_its_fleet_entry(redis: RedisClient, uid: str) -> None:
    counter = CounterActor(redis)
    child = scoped(uid, "daily")
    await counter.increment(child, by=9)
    async with AlarmScheduler(ActorSet(redis), AlarmPolicy(poll_interval=0.02)):
        await counter.set_alarm(child, at=time.time())

        async def reset() -> bool:
            return (await counter.in_tenant(uid)).counts == {"daily": 0}

        await eventually(reset, 5, "the alarm reset the tenant's counter")
    assert (await counter.get(child)).count == 0
    assert await counter.get_alarm(child) is None


def test_a_fleet_kind_may_not_take_a_name_the_runtime_uses_for_keys() -> None:
    with pytest.raises(TypeError, match="cannot be a fleet kind"):

        class AlarmNamed(Actor):
            kind = "alarm"
            fleet = True

    assert "alarm" not in registered()
