"""The same actors on a real 3-node Redis Cluster started from the bundled redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from actors.connection import RedisClient, create_redis
from actors.counter import CounterActor
from actors.durability import check_durability
from actors.events import ActorEvent, parse_event
from actors.keys import actor_channel, actor_key, hashed_id
from actors.listen import EventHub
from actors.ratelimit import RateLimitActor

from .conftest import cluster_ports, cluster_url

__all__ = ["cluster_ports"]  # the fixture, for the modules that import it from here


@pytest.fixture
async def cluster(cluster_ports: list[int]) -> AsyncIterator[RedisClient]:
    client = create_redis(cluster_url(cluster_ports))
    await client.initialize()  # type: ignore[union-attr]
    yield client
    await client.aclose()


def ids_on_every_node(client: RedisCluster, kind: str, make_id: object = str) -> list[str]:
    """Ids (`c0`, `c1`, ...) until there are two on each of the three primaries."""
    by_node: dict[str, list[str]] = {}
    n = 0
    while len(by_node) < 3 or any(len(v) < 2 for v in by_node.values()):
        actor_id = f"c{n}"
        raw = hashed_id(actor_id) if kind == "ratelimit" else actor_id
        node = client.get_node_from_key(actor_key(kind, raw))
        assert node is not None
        by_node.setdefault(node.name, []).append(actor_id)
        n += 1
    return [i for ids in by_node.values() for i in ids[:2]]


async def test_cluster_counter_increments_exact_across_nodes(cluster: RedisCluster) -> None:
    counter = CounterActor(cluster)
    ids = ids_on_every_node(cluster, "counter")

    async def worker(offset: int) -> None:
        for step in range(60):
            await counter.increment(ids[(offset + step) % len(ids)])

    await asyncio.gather(*(worker(o) for o in range(len(ids) * 5)))
    states = await asyncio.gather(*(counter.get(i) for i in ids))
    assert [s.count for s in states] == [300] * len(ids)


async def test_cluster_ratelimit_bursts_exact_on_every_node(cluster: RedisCluster) -> None:
    limiter = RateLimitActor(cluster)
    keys = ids_on_every_node(cluster, "ratelimit")
    decisions = await asyncio.gather(
        *(limiter.hit(key, limit=7, window_seconds=30) for key in keys for _ in range(40))
    )
    allowed_per_key = [sum(d.allowed for d in decisions[i * 40 : (i + 1) * 40]) for i in range(len(keys))]
    assert allowed_per_key == [7] * len(keys)


async def test_cluster_scripts_reload_after_script_flush_on_all_nodes(cluster: RedisCluster) -> None:
    counter = CounterActor(cluster)
    ids = ids_on_every_node(cluster, "counter")
    before = await asyncio.gather(*(counter.get(i) for i in ids))
    await cluster.script_flush()  # redis-py sends SCRIPT FLUSH to every node
    assert CounterActor._increment.script is not None
    assert await cluster.script_exists(CounterActor._increment.script.sha) == [False]
    after = await asyncio.gather(*(counter.increment(i, request_id="after-flush") for i in ids))
    assert [a.count for a in after] == [b.count + 1 for b in before]


async def test_cluster_check_durability_reads_every_primary(cluster: RedisCluster) -> None:
    assert await check_durability(cluster) == []


async def test_cluster_events_from_every_node_reach_one_subscriber(cluster: RedisCluster) -> None:
    counter = CounterActor(cluster)
    ids = ids_on_every_node(cluster, "counter")
    pubsub = cluster.pubsub(node=cluster.get_primaries()[0])
    await pubsub.subscribe(*(actor_channel("counter", i) for i in ids))
    deadline = time.monotonic() + 10
    confirmed = 0
    while confirmed < len(ids):  # PUBLISH reaches every node's subscribers once subscribed
        assert time.monotonic() < deadline, "subscriptions not confirmed"
        message = await pubsub.get_message(timeout=0.5)
        confirmed += message is not None and message["type"] == "subscribe"
    results = [await counter.increment(counter_id) for counter_id in ids]
    events: list[ActorEvent] = []
    while len(events) < len(ids):
        assert time.monotonic() < deadline, f"only {len(events)} of {len(ids)} events arrived"
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is not None:
            events.append(parse_event(message["data"]))
    await pubsub.aclose()
    assert sorted((e.id, e.version) for e in events) == sorted((r.id, r.version) for r in results)


async def test_cluster_event_hub_hears_actors_on_every_node(cluster: RedisCluster) -> None:
    hub = EventHub(cluster)
    counter = CounterActor(cluster)
    ids = ids_on_every_node(cluster, "counter")
    subs = [hub.subscribe("counter", i) for i in ids]
    for sub in subs:
        await sub.__aenter__()
    results = [await counter.increment(i) for i in ids]
    events = [await asyncio.wait_for(sub.__anext__(), 5) for sub in subs]
    assert [(e.id, e.version) for e in events if isinstance(e, ActorEvent)] == [
        (r.id, r.version) for r in results
    ]
    for sub in subs:
        await sub.__aexit__(None, None, None)
    await hub.aclose()
