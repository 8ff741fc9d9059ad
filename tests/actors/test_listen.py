"""EventHub: one pub/sub connection fanning events out to many listeners, gaps when events are lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import anyio
import pytest

from actors.connection import RedisClient, create_redis
from actors.embedded import EmbeddedRedis
from actors.events import ActorEvent
from actors.keys import actor_channel
from actors.listen import EventHub, Gap, cancel_and_wait
from domain.auth.local_cache import CachedSession, LocalEntry, LocalSessionCache
from domain.auth.types import AuthUser
from tests.support.tally import TallyActor


async def poll(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s: {message}"
        await asyncio.sleep(0.005)


async def numsub(redis: RedisClient, channel: str) -> int:
    ((_, count),) = await redis.pubsub_numsub(channel)
    return int(count)


async def test_event_hub_delivers_every_event_to_every_listener_in_order(
    redis: RedisClient, uid: str
) -> None:
    hub = EventHub(redis)
    tally = TallyActor(redis)
    ids = {f"{uid}-a": 300, f"{uid}-b": 100}
    ready: list[int] = []

    async def listener(tally_id: str) -> list[int]:
        versions: list[int] = []
        async with hub.subscribe("tally", tally_id) as events:
            ready.append(1)
            async for event in events:
                assert isinstance(event, ActorEvent) and event.id == tally_id
                versions.append(event.version)
                if len(versions) == 50:
                    return versions
        return versions

    tasks = [asyncio.create_task(listener(i)) for i, n in ids.items() for _ in range(n)]
    await poll(lambda: len(ready) == len(tasks), 10, "all listeners subscribed")
    assert [await numsub(redis, actor_channel("tally", i)) for i in ids] == [1, 1]  # one connection

    async def writer(tally_id: str) -> None:
        for _ in range(50):
            await tally.increment(tally_id)

    await asyncio.gather(*(writer(i) for i in ids))
    for versions in await asyncio.gather(*tasks):
        assert versions == list(range(1, 51))
    await poll(lambda: hub.listener_count == 0, 5, "listeners gone")
    await hub.aclose()


async def test_event_hub_unsubscribes_after_the_last_listener(redis: RedisClient, uid: str) -> None:
    hub = EventHub(redis)
    channel = actor_channel("tally", uid)
    async with hub.subscribe("tally", uid), hub.subscribe("tally", uid):
        assert await numsub(redis, channel) == 1
    deadline = time.monotonic() + 5
    while await numsub(redis, channel) != 0:
        assert time.monotonic() < deadline, "channel still subscribed"
        await asyncio.sleep(0.01)
    await hub.aclose()


async def test_event_hub_forgets_listeners_whose_exit_is_cancelled(redis: RedisClient, uid: str) -> None:
    """As Litestar ends a stream whose client left: an anyio cancel scope cancels every await of the
    exit again, the UNSUBSCRIBE and the wait for it included."""
    hub = EventHub(redis)
    ids = [f"{uid}-{n}" for n in range(8)]
    entered: list[str] = []

    async def listener(tally_id: str) -> None:
        async with hub.subscribe("tally", tally_id) as events:
            entered.append(tally_id)
            async for _ in events:
                pass

    try:
        async with anyio.create_task_group() as group:
            for tally_id in ids:
                group.start_soon(listener, tally_id)
            await poll(lambda: len(entered) == len(ids), 5, "every listener subscribed")
            group.cancel_scope.cancel()
        assert hub.listener_count == 0
        for tally_id in ids:  # and Redis follows: no channel stays subscribed for nobody
            channel = actor_channel("tally", tally_id)
            deadline = time.monotonic() + 5
            while await numsub(redis, channel) != 0:
                assert time.monotonic() < deadline, f"{channel} still subscribed"
                await asyncio.sleep(0.01)
    finally:
        await hub.aclose()


async def test_event_hub_forgets_listeners_cancelled_while_subscribing(redis: RedisClient, uid: str) -> None:
    hub = EventHub(redis)
    ids = [f"{uid}-{n}" for n in range(8)]
    try:
        async with anyio.create_task_group() as group:
            for tally_id in ids:
                group.start_soon(lambda i: hub.subscribe("tally", i).__aenter__(), tally_id)
            group.cancel_scope.cancel()  # lands while the SUBSCRIBEs are on their way
        assert hub.listener_count == 0
        async with hub.subscribe("tally", ids[0]) as events:  # and the channel still works afterwards
            await TallyActor(redis).increment(ids[0])
            event = await asyncio.wait_for(events.__anext__(), 5)
            assert isinstance(event, ActorEvent) and event.version == 1
        assert hub.listener_count == 0
    finally:
        await hub.aclose()


async def test_event_hub_slow_listener_gets_a_gap_not_a_backlog(redis: RedisClient, uid: str) -> None:
    hub = EventHub(redis, queue_size=4)
    tally = TallyActor(redis)
    async with hub.subscribe("tally", uid) as slow, hub.subscribe("tally", uid) as fast:
        for _ in range(20):
            await tally.increment(uid)
            assert isinstance(await asyncio.wait_for(fast.__anext__(), 5), ActorEvent)  # fast keeps up
        items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert 1 <= len(items) <= 4
    assert any(isinstance(item, Gap) for item in items)
    assert all(isinstance(item, Gap) or item.version > 16 for item in items)
    await hub.aclose()


async def test_event_hub_sends_a_gap_after_redis_restarts(fresh_server: EmbeddedRedis) -> None:
    client = create_redis(fresh_server.url)
    hub = EventHub(client)
    tally = TallyActor(client)
    await tally.increment("live")
    async with hub.subscribe("tally", "live") as events:
        fresh_server.kill()
        fresh_server.start()  # same data dir: count 1 survives in the AOF
        first = await asyncio.wait_for(events.__anext__(), 15)
        assert first == Gap("tally", "live")
        await tally.increment("live")
        second = await asyncio.wait_for(events.__anext__(), 5)
        assert isinstance(second, ActorEvent) and second.version == 2
    await hub.aclose()
    await client.aclose()


async def test_event_hub_recovers_when_its_connection_drops_while_listeners_come_and_go(
    fresh_server: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """The reader and new SUBSCRIBEs both find the dropped connection; only one may reconnect it."""
    client, admin = create_redis(fresh_server.url), create_redis(fresh_server.url)
    hub = EventHub(client)
    tally = TallyActor(client)

    async def listen_once(actor_id: str) -> None:
        with contextlib.suppress(Exception):  # refused while the connection is down: fine
            async with hub.subscribe("tally", actor_id):
                pass

    async with hub.subscribe("tally", "steady") as events:
        for round_ in range(20):
            arriving = [asyncio.ensure_future(listen_once(f"churn-{round_}-{n}")) for n in range(5)]
            await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await asyncio.gather(*arriving)
        await tally.increment("steady")
        while not isinstance(item := await asyncio.wait_for(events.__anext__(), 10), ActorEvent):
            assert item == Gap("tally", "steady")  # the reconnects' gaps come first
        assert item.version == 1
        async with hub.subscribe("tally", "fresh"):  # confirmed within the hub's timeout
            pass
    # A refused or dropped connection is logged and expected; a corrupted one shows as these errors.
    corrupted = ("RuntimeError", "AttributeError", "unexpected error")
    assert not [r.getMessage() for r in caplog.records if any(c in r.getMessage() for c in corrupted)]
    await hub.aclose()
    await client.aclose()
    await admin.aclose()


async def test_session_memory_goes_dark_when_pub_sub_drops_and_comes_back_empty(
    fresh_server: EmbeddedRedis,
) -> None:
    client = create_redis(fresh_server.url)
    hub = EventHub(client)
    cache = LocalSessionCache()
    follower = asyncio.create_task(cache.follow(hub))
    await cache.wait_live()
    user = AuthUser(id=1, email="a@example.com", name="A")
    cache.put("h", LocalEntry(CachedSession(1, user.id, 2e9, 1e9), user), since_generation=cache.generation)
    assert cache.get("h") is not None
    fresh_server.kill()
    # Invalidations sent now would be lost: the memory must stop answering at once.
    await poll(lambda: not cache.live, 15, "cache went dark")
    assert cache.get("h") is None
    fresh_server.start()
    await cache.wait_live(15)
    assert len(cache) == 0  # whatever it held before the drop is gone
    follower.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    assert not cache.live
    await hub.aclose()
    await client.aclose()


async def test_cancel_and_wait_cancels_again_when_a_cancellation_is_swallowed() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            swallowed.set()  # as Python 3.11's wait_for can do: carry on as if nothing happened
        await asyncio.sleep(30)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, 5) is True
    assert swallowed.is_set() and task.cancelled()


async def test_cancel_and_wait_gives_up_after_its_timeout() -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    task = asyncio.create_task(deaf())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, 0.3) is False
    release.set()
    await task
