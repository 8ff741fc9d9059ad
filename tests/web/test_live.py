"""web.live's stream against a real Redis: first state, changes in order, gaps, heartbeats, shutdown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from actors import listen as listen_module
from actors.connection import create_redis
from actors.listen import EventHub
from tests.support.server import free_port
from tests.support.tally import TallyActor, TallyState
from web import live as live_module
from web.live import LiveStreams, open_streams
from web.live_views import LiveView
from web.stream_slots import StreamSlot, StreamSlots, client_keys

Stream = AsyncIterator[bytes]


@dataclass
class Message:
    """One SSE message as a browser's EventSource parses it."""

    id: int | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comment: str | None = None


def parse(raw: bytes) -> Message:
    assert raw.endswith(b"\r\n\r\n")
    message, data = Message(), []
    for line in raw.decode().split("\r\n")[:-2]:
        name, _, value = line.partition(": ")
        if name == "":
            message.comment = value
        elif name == "data":
            data.append(value)
        elif name in ("id", "retry"):
            setattr(message, name, int(value))
        else:
            setattr(message, name, value)
    message.data = "\n".join(data) if data else None
    return message


VIEW = LiveView(kind="tally", partial="partials/tally_value.html", context_name="tally", path="/c/{id}")


class TallyLive(LiveStreams):
    """The streams of one tally view, as the app builds them for `live("tally", ...)`."""

    tally: TallyActor


def render_count(view: LiveView, state: object) -> str:
    assert isinstance(state, TallyState)
    return f"<b>{state.count}</b>"


@asynccontextmanager
async def tally_streams(url: str) -> AsyncIterator[TallyLive]:
    """The tally view's streams on the Redis at `url`, closed with their hub and client afterwards."""
    redis = create_redis(url)
    tally = TallyActor(redis)
    streams = TallyLive(hub=EventHub(redis), readers={"tally": tally}, render=render_count)
    streams.tally = tally
    try:
        yield streams
    finally:
        streams.close_all()
        await streams.hub.aclose()
        await redis.aclose()


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[TallyLive]:
    async with tally_streams(redis_url) as streams:
        yield streams


async def next_message(stream: Stream, timeout: float = 5.0) -> Message:
    return parse(await asyncio.wait_for(anext(stream), timeout))


async def open_stream(
    live: TallyLive, tally_id: str, after: int = -1, slot: StreamSlot | None = None
) -> Stream:
    """A stream past its retry hint, subscribed; the caller reads the state it sends (if any)."""
    stream = live.stream(VIEW, tally_id, after, slot)
    hint = await next_message(stream)
    assert hint.retry == live_module.RETRY_MS and hint.data is None
    return stream


async def test_stream_sends_current_state_first_then_each_change_in_order(live: TallyLive) -> None:
    await live.tally.increment("c1")
    stream = await open_stream(live, "c1")
    first = await next_message(stream)
    assert (first.event, first.id, first.data) == ("tally", 1, "<b>1</b>")
    for _ in range(3):
        await live.tally.increment("c1")
    received = [(await next_message(stream)).id for _ in range(3)]
    assert received == [2, 3, 4]
    await stream.aclose()  # type: ignore[attr-defined]


async def test_stream_after_a_known_version_sends_only_newer_states(live: TallyLive) -> None:
    for _ in range(2):
        await live.tally.increment("c2")
    stream = await open_stream(live, "c2", after=2)  # as with Last-Event-ID: 2
    pending = asyncio.ensure_future(next_message(stream))
    await asyncio.sleep(0.05)
    assert not pending.done()  # nothing new yet: no initial message
    await live.tally.increment("c2")
    assert (await pending).id == 3
    await stream.aclose()  # type: ignore[attr-defined]


async def test_stream_behind_the_latest_version_gets_the_current_state_at_once(live: TallyLive) -> None:
    for _ in range(5):
        await live.tally.increment("c3")
    stream = await open_stream(live, "c3", after=2)  # a reconnect that missed versions 3..5
    message = await next_message(stream, timeout=1)
    assert (message.id, message.data) == (5, "<b>5</b>")
    await stream.aclose()  # type: ignore[attr-defined]


async def test_slow_reader_skips_to_the_latest_state(live: TallyLive) -> None:
    live.hub.queue_size = 2
    stream = await open_stream(live, "c4")
    assert (await next_message(stream)).id == 0
    for _ in range(6):  # overflows the 2-slot queue: its backlog becomes one Gap
        await live.tally.increment("c4")
    await asyncio.sleep(0.1)
    ids = [int((await next_message(stream)).id or 0)]
    while ids[-1] != 6:
        ids.append(int((await next_message(stream)).id or 0))
    assert ids == sorted(set(ids)) and ids[-1] == 6
    await stream.aclose()  # type: ignore[attr-defined]


async def test_idle_stream_sends_heartbeat_comments(live: TallyLive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_module, "HEARTBEAT_S", 0.05)
    beating = asyncio.ensure_future(live.heartbeats())
    stream = await open_stream(live, "c5")
    await next_message(stream)  # the current state
    beat = await next_message(stream, timeout=1)
    assert beat.comment == "heartbeat" and beat.data is None and beat.id is None
    await live.tally.increment("c5")  # and events still flow between beats
    while (message := await next_message(stream, timeout=1)).id is None:
        assert message.comment == "heartbeat"
    assert message.id == 1
    await stream.aclose()  # type: ignore[attr-defined]
    live.close_all()
    await asyncio.wait_for(beating, 1)


async def test_close_all_ends_streams_with_a_retry_hint(live: TallyLive) -> None:
    before = open_streams()
    streams = [await open_stream(live, f"c6-{i}") for i in range(3)]
    for stream in streams:
        await next_message(stream)
    assert live.open == 3 and open_streams() == before + 3
    live.close_all()
    for stream in streams:
        goodbye = await next_message(stream)
        assert goodbye.retry == live_module.RETRY_MS and goodbye.comment == "server restarting"
        with pytest.raises(StopAsyncIteration):
            await next_message(stream)
    assert live.open == 0 and open_streams() == before
    assert live.drained.is_set()


async def test_stream_whose_redis_is_unreachable_ends_cleanly_with_a_retry_hint() -> None:
    # Nothing listens on the port: the connection is refused, as while Redis restarts.
    slots = StreamSlots(per_worker=1, per_client=1)
    slot = slots.take(("ip:127.0.0.1",))
    before = open_streams()
    async with tally_streams(f"redis://127.0.0.1:{free_port()}") as live:
        stream = await open_stream(live, "c-down", slot=slot)
        last = await next_message(stream, timeout=30)  # after redis-py's own retries
        assert (last.retry, last.comment, last.data) == (live_module.RETRY_MS, "unavailable", None)
        with pytest.raises(StopAsyncIteration):
            await next_message(stream)
        assert live.open == 0 and open_streams() == before and live.hub.listener_count == 0
        assert slots.taken == 0  # its slot was given back


async def test_stream_whose_subscription_is_never_confirmed_ends_cleanly_with_a_retry_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A listener that accepts the connection and never answers: Redis hung, or busy past the timeout.
    monkeypatch.setattr(listen_module, "SUBSCRIBE_TIMEOUT_S", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        async with tally_streams(f"redis://127.0.0.1:{silent.getsockname()[1]}") as live:
            stream = await open_stream(live, "c-hung")
            last = await next_message(stream, timeout=10)
            assert (last.retry, last.comment) == (live_module.RETRY_MS, "unavailable")
            with pytest.raises(StopAsyncIteration):
                await next_message(stream)
            assert live.open == 0 and live.hub.listener_count == 0


async def test_closed_stream_unsubscribes(live: TallyLive) -> None:
    stream = await open_stream(live, "c7")
    await next_message(stream)
    assert live.hub.listener_count == 1
    await stream.aclose()  # type: ignore[attr-defined]
    assert live.open == 0 and live.hub.listener_count == 0


async def test_no_new_streams_after_close(live: TallyLive) -> None:
    live.close_all()
    stream = live.stream(VIEW, "c8", -1)
    assert (await next_message(stream)).retry == live_module.RETRY_MS
    with pytest.raises(StopAsyncIteration):
        await next_message(stream)
    assert live.hub.listener_count == 0


def test_message_is_rendered_and_encoded_once_per_version() -> None:
    rendered: list[int] = []

    def render(view: LiveView, state: object) -> str:
        assert isinstance(state, TallyState)
        rendered.append(state.version)
        return str(state.count)

    streams = LiveStreams(hub=None, readers={}, render=render)  # type: ignore[arg-type]
    state = TallyState(count=3, id="x", timestamp="t", version=3)
    encoded = [streams.message(VIEW, "x", state) for _ in range(100)]
    assert all(e is encoded[0] for e in encoded)
    assert encoded[0] == b"id: 3\r\nevent: tally\r\ndata: 3\r\n\r\n"
    assert rendered == [3]


def test_stream_slots_cap_the_worker_and_each_client() -> None:
    slots = StreamSlots(per_worker=3, per_client=2)
    a1, a2 = slots.take(("ip:a",)), slots.take(("ip:a", "session:1"))
    assert a1 is not None and a2 is not None
    assert slots.take(("ip:a",)) is None  # this address is at its cap
    b1 = slots.take(("ip:b", "session:1"))  # session 1 has one more
    assert b1 is not None
    assert slots.take(("ip:b", "session:1")) is None  # session 1 at its cap too
    assert slots.take(("ip:c",)) is None  # and the worker is full: 3 taken
    a1.release()
    a1.release()  # a second release gives nothing back twice
    assert slots.taken == 2
    c1 = slots.take(("ip:c",))
    assert c1 is not None and slots.taken == 3
    del c1  # a slot nobody holds any more is given back
    assert slots.taken == 2


async def test_stream_gives_its_slot_back_when_closed_or_dropped_unstarted(live: TallyLive) -> None:
    live.slots = StreamSlots(per_worker=2, per_client=2)
    slot = live.slots.take(("ip:a",))
    stream = await open_stream(live, "c9", slot=slot)
    await next_message(stream)
    assert live.slots.taken == 1
    await stream.aclose()  # type: ignore[attr-defined]
    assert live.slots.taken == 0
    # A response that fails before its body starts never runs the generator: the slot comes back
    # when the generator is dropped.
    unstarted = live.stream(VIEW, "c9", -1, live.slots.take(("ip:a",)))
    assert live.slots.taken == 1
    del unstarted
    assert live.slots.taken == 0


def test_stream_clients_are_counted_by_address_ipv6_by_its_64_and_by_session() -> None:
    assert client_keys("203.0.113.7", None) == ("ip:203.0.113.7",)
    assert client_keys("203.0.113.7", 42) == ("ip:203.0.113.7", "session:42")
    # One IPv6 subscriber holds a whole /64: every address in it counts as the same client.
    assert client_keys("2001:db8:1:2::1", None) == client_keys("2001:db8:1:2:ffff::9", None)
    assert client_keys("2001:db8:1:2::1", None) != client_keys("2001:db8:1:3::1", None)
    assert client_keys("testclient", None) == ("ip:testclient",)
