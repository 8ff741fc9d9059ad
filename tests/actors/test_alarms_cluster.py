"""Actor alarms on a real 3-node Redis Cluster: records in each actor's slot, index shards on every node."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio.cluster import RedisCluster

from actors import alarm_store
from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.keys import actor_key
from actors.runtime import ActorSet

from .alarm_probe import AlarmProbeActor
from .conftest import cluster_url
from .test_alarms import eventually
from .test_alarms_processes import Workers
from .test_cluster import cluster, cluster_ports, ids_on_every_node  # noqa: F401  (fixtures)


async def test_cluster_alarms_fire_once_replace_and_cancel_on_every_node(cluster: RedisCluster) -> None:  # noqa: F811
    shards = range(alarm_store.SHARDS)
    nodes = {cluster.get_node_from_key(alarm_store.shard_keys(n)[0]).name for n in shards}  # type: ignore[union-attr]
    assert len(nodes) == 3  # the due index is spread over every primary
    tag = f"a{time.time_ns()}"
    ids = [f"{tag}-{i}" for i in ids_on_every_node(cluster, "alarmprobe")]
    probe = AlarmProbeActor(cluster)
    policy = AlarmPolicy(poll_interval=0.05)
    # Set, replaced and cancelled before any scheduler runs: the outcome cannot depend on timing.
    await asyncio.gather(*(probe.set_alarm(i, at=time.time() + 60, payload={"fail_until": 9}) for i in ids))
    await asyncio.gather(*(probe.set_alarm(i, at=time.time(), payload={}) for i in ids))  # replaces
    cancelled = f"{tag}-cancelled"
    await probe.set_alarm(cancelled, at=time.time(), payload={})
    assert await probe.cancel_alarm(cancelled) is True
    async with AlarmScheduler(ActorSet(cluster), policy):

        async def all_done() -> bool:
            infos = await asyncio.gather(*(probe.get_alarm(i) for i in ids))
            return all(info is None for info in infos)

        await eventually(all_done, 10, "every alarm ran and finished")
    for actor_id in ids:
        assert await cluster.hget(actor_key("alarmprobe", actor_id), "runs") == b"1"
        assert await cluster.hget(actor_key("alarmprobe", actor_id), "count") == b"1"
    assert await cluster.hget(actor_key("alarmprobe", cancelled), "runs") is None


async def test_cluster_alarms_1000_due_at_once_run_exactly_once_across_two_processes(
    cluster: RedisCluster,  # noqa: F811
    cluster_ports: list[int],  # noqa: F811
) -> None:
    workers = Workers(cluster_url(cluster_ports))
    try:
        pids = workers.start(2, lease=30.0)
        probe = AlarmProbeActor(cluster)
        ids = [f"k{time.time_ns()}-{n}" for n in range(1000)]
        await asyncio.gather(*(probe.set_alarm(i, at=time.time() + 1.0, payload={}) for i in ids))

        async def tallies(name: str) -> list[int | None]:
            pipe = cluster.pipeline(transaction=False)
            for actor_id in ids:
                pipe.hget(actor_key("alarmprobe", actor_id), name)
            return [None if v is None else int(v) for v in await pipe.execute()]

        async def all_ran() -> bool:
            return None not in await tallies("count")

        await eventually(all_ran, 60, "all 1,000 alarms ran on the cluster")
        assert await tallies("runs") == [1] * 1000
        assert {v for v in await tallies("pid") if v is not None} == set(pids)
    finally:
        workers.stop()
