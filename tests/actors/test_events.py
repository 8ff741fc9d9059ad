"""Change events: published by the same script, in order, with strictly increasing versions."""

from __future__ import annotations

import asyncio
import time

from actors.connection import RedisClient
from actors.events import ActorEvent, parse_event
from actors.keys import actor_channel
from actors.preferences import PreferencesActor
from tests.support.tally import TallyActor


async def collect(redis: RedisClient, channel: str, n: int, started: asyncio.Event) -> list[ActorEvent]:
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    started.set()
    events: list[ActorEvent] = []
    deadline = time.monotonic() + 20
    try:
        while len(events) < n and time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                events.append(parse_event(message["data"]))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    return events


async def test_events_arrive_in_order_with_increasing_versions(redis: RedisClient, uid: str) -> None:
    tally = TallyActor(redis)
    started = asyncio.Event()
    listener = asyncio.create_task(collect(redis, actor_channel("tally", uid), 400, started))
    await started.wait()

    async def worker() -> None:
        for _ in range(50):
            await tally.increment(uid)

    await asyncio.gather(*(worker() for _ in range(8)))
    events = await listener
    assert [e.version for e in events] == list(range(1, 401))
    assert [e.state["count"] for e in events] == list(range(1, 401))
    assert {(e.kind, e.id) for e in events} == {("tally", uid)}
    assert TallyActor.state_from_event(events[-1]).count == 400


async def test_events_are_not_republished_on_a_repeated_request(redis: RedisClient, uid: str) -> None:
    tally = TallyActor(redis)
    started = asyncio.Event()
    listener = asyncio.create_task(collect(redis, actor_channel("tally", uid), 2, started))
    await started.wait()
    await tally.increment(uid, request_id="once")
    await tally.increment(uid, request_id="once")
    await tally.increment(uid, request_id="twice")
    events = await listener
    assert [e.version for e in events] == [1, 2]


async def test_events_carry_the_whole_preferences_state(redis: RedisClient, uid: str) -> None:
    prefs = PreferencesActor(redis)
    started = asyncio.Event()
    listener = asyncio.create_task(collect(redis, actor_channel("preferences", uid), 1, started))
    await started.wait()
    updated = await prefs.update(uid, language="fr", timezone="Europe/Paris")
    (event,) = await listener
    assert PreferencesActor.state_from_event(event) == updated


def test_parse_event_accepts_str_and_bytes() -> None:
    raw = '{"kind": "tally", "id": "a", "state": {"count": 1}, "version": 1}'
    assert parse_event(raw) == parse_event(raw.encode()) == ActorEvent("tally", "a", {"count": 1}, 1)
