"""Actor alarms in one process against real Redis: fire once, replace, cancel, retry, dead letters."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from actors import alarm_store
from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import RedisClient, create_redis
from actors.embedded import EmbeddedRedis
from actors.keys import actor_key, scoped
from actors.outbox import PENDING_TTL_MS
from actors.runtime import REQUEST_TTL_MS, ActorSet, InvalidActorArgument
from actors.scripts import runner_for

from .alarm_probe import AlarmProbeActor
from .conftest import on_every_backend


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, message: str) -> None:
    """Poll `check()` until true; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(0.02)


async def field(redis: RedisClient, actor_id: str, name: str) -> int | None:
    value = await redis.hget(actor_key("alarmprobe", actor_id), name)  # type: ignore[misc]
    return None if value is None else int(value)


async def run_times(redis: RedisClient, actor_id: str) -> list[int]:
    """The Redis time (ms) at which each run of the probe's handler started."""
    raw = await redis.lrange(actor_key("alarmprobe", actor_id, "times"), 0, -1)  # type: ignore[misc]
    return [int(x) for x in raw]


async def indexed(redis: RedisClient, actor_id: str) -> bool:
    """True while any index set still names the actor's alarm."""
    member = alarm_store.member_of("alarmprobe", actor_id)
    keys = alarm_store.shard_keys(alarm_store.shard_of(member))
    scores = [await redis.zscore(key, member) for key in keys]
    return any(score is not None for score in scores)


@pytest.fixture
async def scheduler(redis: RedisClient) -> AsyncIterator[AlarmScheduler]:
    policy = AlarmPolicy(max_tries=4, backoff_base=0.2, lease=5.0, poll_interval=0.02)
    async with AlarmScheduler(ActorSet(redis), policy) as running:
        yield running


async def test_alarm_fires_once_within_its_window(redis: RedisClient, uid: str) -> None:
    probe = AlarmProbeActor(redis)
    async with AlarmScheduler(ActorSet(redis)):  # the default 250 ms poll
        at = time.time() + 0.5
        generation = await probe.set_alarm(uid, at=at, payload={})
        info = await probe.get_alarm(uid)
        assert info is not None and info.state == "pending" and info.generation == generation
        await eventually(lambda: is_(field(redis, uid, "count"), 1), 5, "the alarm ran")
        (started,) = await run_times(redis, uid)
        assert at * 1000 - 20 <= started <= at * 1000 + 1000
        await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the alarm was deleted after running")
    assert await field(redis, uid, "runs") == 1
    assert not await indexed(redis, uid)  # nothing left that could fire it again


async def test_alarm_set_in_process_wakes_the_scheduler_before_its_next_poll(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    async with AlarmScheduler(ActorSet(redis), AlarmPolicy(poll_interval=30.0)):
        at = time.time() + 0.3
        await probe.set_alarm(uid, at=at, payload={})
        await eventually(
            lambda: is_(field(redis, uid, "count"), 1), 5, "the alarm ran long before the next poll"
        )
    (started,) = await run_times(redis, uid)
    assert at * 1000 - 20 <= started <= at * 1000 + 500


async def test_alarm_set_again_replaces_the_pending_one(
    redis: RedisClient, uid: str, scheduler: AlarmScheduler
) -> None:
    probe = AlarmProbeActor(redis)
    first = await probe.set_alarm(uid, at=time.time() + 0.1, payload={"fail_until": 99})
    later = time.time() + 0.6
    second = await probe.set_alarm(uid, at=later, payload={"note": "second"})
    info = await probe.get_alarm(uid)
    assert info is not None
    assert (info.generation, info.payload) == (first + 1, {"note": "second"})
    await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the replacing alarm ran and finished")
    (started,) = await run_times(redis, uid)
    assert started >= later * 1000 - 20  # the first time (0.1 s) never fired
    assert await field(redis, uid, "runs") == 1
    assert second == first + 1


async def test_alarm_cancel_removes_it(redis: RedisClient, uid: str, scheduler: AlarmScheduler) -> None:
    probe = AlarmProbeActor(redis)
    await probe.set_alarm(uid, at=time.time() + 0.2, payload={})
    assert await probe.cancel_alarm(uid) is True
    assert await probe.get_alarm(uid) is None
    assert await probe.cancel_alarm(uid) is False
    # A witness due after the cancelled one: once it has run, the cancelled one would have too.
    await probe.set_alarm(f"{uid}-w", at=time.time() + 0.4, payload={})
    await eventually(lambda: is_(field(redis, f"{uid}-w", "count"), 1), 5, "the witness alarm ran")
    assert await field(redis, uid, "runs") is None
    assert not await indexed(redis, uid)


@on_every_backend
async def test_alarm_failures_back_off_then_dead_letter_then_retry_runs_it(
    redis: RedisClient, uid: str, scheduler: AlarmScheduler
) -> None:
    probe = AlarmProbeActor(redis)
    await probe.set_alarm(uid, at=time.time(), payload={"fail_until": 4})
    await eventually(lambda: state_(probe, uid, "dead"), 10, "the alarm reached the dead letters")
    info = await probe.get_alarm(uid)
    assert info is not None and info.attempt == 4 and "probe failure on run 4" in info.error
    times = await run_times(redis, uid)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert [gap >= delay for gap, delay in zip(gaps, (200, 400, 800), strict=True)] == [True] * 3
    assert gaps[0] < gaps[1] < gaps[2]
    assert await field(redis, uid, "count") == 1  # every try had the same request id
    listed = await alarm_store.list_alarms(redis, limit=1000)
    assert any(i.member == f"alarmprobe/{uid}" and i.state == "dead" for i in listed)

    assert await alarm_store.retry_alarm(runner_for(redis), "alarmprobe", uid) is True
    await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the retried alarm ran and finished")
    assert await field(redis, uid, "runs") == 5
    assert not await indexed(redis, uid)


async def record_pttl(redis: RedisClient, actor_id: str) -> int:
    """The alarm record's PTTL: -1 without an expiry, -2 when the key is gone."""
    return int(await redis.pttl(alarm_store.alarm_key("alarmprobe", actor_id)))


def spent_ttl(pttl: int) -> bool:
    return 0 < pttl <= alarm_store.SPENT_RECORD_TTL_MS


def test_a_spent_record_outlives_its_request_ids_and_the_mail_it_vouches_for() -> None:
    # Request-result keys live REQUEST_TTL_MS from a call made at most a lease (ALARM_LEASE_SECONDS
    # allows a day) before the record is spent; a pending mail lives PENDING_TTL_MS from its put,
    # which comes before its alarm's record is spent.
    longest_lease_ms = 86_400_000
    assert REQUEST_TTL_MS + longest_lease_ms <= alarm_store.SPENT_RECORD_TTL_MS
    assert PENDING_TTL_MS < alarm_store.SPENT_RECORD_TTL_MS


@on_every_backend
async def test_a_record_whose_alarm_ran_expires(
    redis: RedisClient, uid: str, scheduler: AlarmScheduler
) -> None:
    probe = AlarmProbeActor(redis)
    generation = await probe.set_alarm(uid, at=time.time(), payload={})
    assert await record_pttl(redis, uid) == -1  # a pending alarm never expires
    await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the alarm ran and finished")
    assert spent_ttl(await record_pttl(redis, uid))
    key = alarm_store.alarm_key("alarmprobe", uid)
    assert await redis.hget(key, "gen") == str(generation).encode()  # type: ignore[misc]


@on_every_backend
async def test_a_cancelled_record_expires_and_setting_again_clears_the_expiry(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    first = await probe.set_alarm(uid, at=time.time() + 3600, payload={})
    assert await probe.cancel_alarm(uid) is True
    assert spent_ttl(await record_pttl(redis, uid))
    assert await probe.set_alarm(uid, at=time.time() + 3600, payload={}) == first + 1
    assert await record_pttl(redis, uid) == -1
    assert await probe.cancel_alarm(uid) is True


@on_every_backend
async def test_a_dead_lettered_record_keeps_no_expiry_until_it_is_discarded(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    async with AlarmScheduler(ActorSet(redis), AlarmPolicy(max_tries=1, poll_interval=0.02)):
        await probe.set_alarm(uid, at=time.time(), payload={})
        await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the first alarm ran and finished")
        assert spent_ttl(await record_pttl(redis, uid))
        await probe.set_alarm(uid, at=time.time(), payload={"fail_until": 99})
        await eventually(lambda: state_(probe, uid, "dead"), 5, "the second alarm reached the dead letters")
    assert await record_pttl(redis, uid) == -1
    assert await ActorSet(redis).cancel_alarm("alarmprobe", uid) is True  # the operators' discard
    assert spent_ttl(await record_pttl(redis, uid))
    assert not await indexed(redis, uid)


async def write_record_only(redis: RedisClient, actor_id: str, at: float) -> None:
    """set_alarm's first write alone: the state a process dying before the index write leaves."""
    key = alarm_store.alarm_key("alarmprobe", actor_id)
    await runner_for(redis).run(alarm_store.SET, [key], (round(at * 1000), "{}"))


@on_every_backend
async def test_an_alarm_stored_but_not_indexed_fires_after_the_index_repair(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    await write_record_only(redis, uid, time.time())
    info = await probe.get_alarm(uid)
    assert info is not None and info.state == "pending"
    assert not await indexed(redis, uid)
    policy = AlarmPolicy(poll_interval=0.02, repair_interval=3600.0)  # no repair pass of its own
    async with AlarmScheduler(ActorSet(redis), policy):
        # A witness set properly after it: once it has run, a claim has passed the unindexed alarm by.
        await probe.set_alarm(f"{uid}-w", at=time.time(), payload={})
        await eventually(lambda: is_(field(redis, f"{uid}-w", "count"), 1), 5, "the witness alarm ran")
        assert await field(redis, uid, "runs") is None
        mine = f"actor:alarmprobe:{{{uid}*}}:alarm"
        assert await alarm_store.repair_index(runner_for(redis), match=mine) == 1
        await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the repaired alarm ran and finished")
        assert await alarm_store.repair_index(runner_for(redis), match=mine) == 0
    assert await field(redis, uid, "count") == 1
    assert not await indexed(redis, uid)


@on_every_backend
async def test_a_tenant_actors_unindexed_alarm_is_found_by_the_index_repair(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    actor_id = scoped(uid, "probe")
    await write_record_only(redis, actor_id, time.time() + 3600)
    assert (
        alarm_store.member_of_key(alarm_store.alarm_key("alarmprobe", actor_id)) == f"alarmprobe/{actor_id}"
    )
    assert not await indexed(redis, actor_id)
    mine = f"actor:alarmprobe:org:{{{uid}}}*:alarm"
    assert await alarm_store.repair_index(runner_for(redis), match=mine) == 1
    assert await indexed(redis, actor_id)
    assert await probe.cancel_alarm(actor_id) is True


@on_every_backend
async def test_a_retry_that_died_before_moving_the_index_runs_after_the_index_repair(
    redis: RedisClient, uid: str
) -> None:
    probe = AlarmProbeActor(redis)
    await probe.set_alarm(uid, at=time.time(), payload={"fail_until": 1})
    async with AlarmScheduler(ActorSet(redis), AlarmPolicy(max_tries=1, poll_interval=0.02)):
        await eventually(lambda: state_(probe, uid, "dead"), 5, "the alarm reached the dead letters")
        # retry_alarm's first write alone: the record is revived, the index still says dead.
        assert (
            int(
                await runner_for(redis).run(
                    alarm_store.REVIVE, [alarm_store.alarm_key("alarmprobe", uid)], ()
                )
            )
            > 0
        )
        assert await state_(probe, uid, "pending")
        mine = f"actor:alarmprobe:{{{uid}*}}:alarm"
        assert await alarm_store.repair_index(runner_for(redis), match=mine) == 1
        await eventually(lambda: none_(probe.get_alarm(uid)), 5, "the revived alarm ran and finished")
    assert await field(redis, uid, "runs") == 2
    assert not await indexed(redis, uid)


async def test_the_scheduler_repairs_the_index_every_repair_interval(fresh_server: EmbeddedRedis) -> None:
    # A server of its own: no other scheduler holds this interval's repair lock.
    redis = create_redis(fresh_server.url)
    try:
        probe = AlarmProbeActor(redis)
        await write_record_only(redis, "unindexed", time.time())
        async with AlarmScheduler(ActorSet(redis), AlarmPolicy(poll_interval=0.02, repair_interval=0.2)):
            await eventually(lambda: none_(probe.get_alarm("unindexed")), 10, "the repair pass indexed it")
        assert await field(redis, "unindexed", "count") == 1
    finally:
        await redis.aclose()


async def test_alarm_set_refuses_bad_time_and_payload(redis: RedisClient, uid: str) -> None:
    probe = AlarmProbeActor(redis)
    with pytest.raises(InvalidActorArgument):
        await probe.set_alarm(uid, at=-1.0, payload={})
    with pytest.raises(InvalidActorArgument):
        await probe.set_alarm(uid, at=time.time(), payload={"x": object()})
    assert await probe.get_alarm(uid) is None


async def test_alarm_counts_see_pending_alarms(redis: RedisClient, uid: str) -> None:
    probe = AlarmProbeActor(redis)
    before = await alarm_store.alarm_counts(redis)
    await probe.set_alarm(uid, at=time.time() + 3600, payload="later")
    after = await alarm_store.alarm_counts(redis)
    assert after.scheduled == before.scheduled + 1
    await probe.cancel_alarm(uid)


async def is_(value: Awaitable[int | None], expected: int) -> bool:
    return await value == expected


async def none_(value: Awaitable[object]) -> bool:
    return await value is None


async def state_(probe: AlarmProbeActor, actor_id: str, state: str) -> bool:
    info = await probe.get_alarm(actor_id)
    return info is not None and info.state == state
