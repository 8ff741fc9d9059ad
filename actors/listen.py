"""EventHub: one Redis pub/sub connection per process fanning actor events out to many local listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import msgspec
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.connection import RedisClient
from actors.events import ActorEvent, parse_event
from actors.keys import actor_channel

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 2.0
RECONNECT_DELAY_S = (0.05, 2.0)
# How long the reader waits for a message while holding the connection (see EventHub._wire).
READ_WINDOW_S = 0.05


async def cancel_and_wait(task: asyncio.Task[Any], timeout_s: float) -> bool:
    """Cancel `task` and wait for it to end, at most `timeout_s`; True when it ended.

    Cancels again while waiting: code below us (Python 3.11's `asyncio.wait_for`, a client
    library's reconnect loop) can swallow one cancellation and carry on.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.1, max(deadline - loop.time(), 0)))
    if not task.done():
        log.warning("task %s did not stop within %.1fs of being cancelled", task.get_name(), timeout_s)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.warning("task %s ended with %r", task.get_name(), task.exception())
    return True


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("actor events: subscribing failed: %r", task.exception())


class EventQueue:
    """The part of `asyncio.Queue` a Subscription uses, for one reader: a list and at most one future.

    An SSE stream holds one for as long as it is open; asyncio.Queue's four deques and Event take
    ~3 KB each, this a few hundred bytes (10,000 streams per worker: bench/sse.py).
    """

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: list[ActorEvent | Gap] = []
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return len(self._items) >= self.maxsize

    def put_nowait(self, item: ActorEvent | Gap) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> ActorEvent | Gap:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> ActorEvent | Gap:
        while not self._items:
            await self.arrival()
        return self._items.pop(0)

    def arrival(self) -> asyncio.Future[None]:
        """A future done when the next item is put. Awaited directly (`while q.empty(): await
        q.arrival()`), a waiting reader holds no coroutine of its own: with 10,000 readers, each
        change would otherwise leave 10,000 new ones for the collector to scan."""
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        return waiter


class Gap(msgspec.Struct, frozen=True):
    """Events of this actor may have been missed (reconnect, slow listener): read its state again."""

    kind: str
    id: str


@dataclass(eq=False, slots=True)
class Subscription:
    """Events of one actor, in order; `async with hub.subscribe(kind, id) as events: async for e in events`.

    Entering returns once Redis confirmed the subscription, so state read after that point plus
    the events that follow miss nothing. Items are ActorEvent or Gap.
    """

    hub: EventHub
    kind: str
    id: str
    channel: bytes
    queue: EventQueue

    async def __aenter__(self) -> Subscription:
        await self.hub._add(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # No await here: a cancelled stream (client gone) runs this under a cancellation that
        # interrupts every await, and an interrupted removal would leave the listener behind.
        self.hub._discard(self)

    def __aiter__(self) -> AsyncIterator[ActorEvent | Gap]:
        return self

    async def __anext__(self) -> ActorEvent | Gap:
        return await self.queue.get()

    def _deliver(self, item: ActorEvent | Gap) -> None:
        if self.queue.full():
            # A listener that cannot keep up gets its backlog replaced by one Gap instead of
            # slowing every other listener or growing memory without bound.
            while not self.queue.empty():
                self.queue.get_nowait()
            item = Gap(self.kind, self.id)
        self.queue.put_nowait(item)


@dataclass(eq=False)
class EventHub:
    """Shares one pub/sub connection among all listeners of a process (SSE streams, workers).

    Channels are subscribed on the first listener and unsubscribed after the last. When the
    connection drops, redis-py reconnects and resubscribes; every listener then gets a Gap.
    """

    redis: RedisClient
    queue_size: int = 64
    _listeners: dict[bytes, set[Subscription]] = field(default_factory=dict, init=False)
    _confirmed: dict[bytes, asyncio.Event] = field(default_factory=dict, init=False)
    _pubsub: PubSub | None = field(default=None, init=False)
    _reader: asyncio.Task[None] | None = field(default=None, init=False)
    # Channels SUBSCRIBEd (or being subscribed) on the pub/sub connection, and the task that does it.
    _subscribed: set[bytes] = field(default_factory=set, init=False)
    _syncing: asyncio.Task[None] | None = field(default=None, init=False)
    # Held by whichever of the two tasks uses the pub/sub connection: redis-py reconnects it from
    # inside any command or read that finds it dropped, and two reconnects at once corrupt it.
    _wire: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    # Called when the pub/sub connection drops (before the Gap that follows the reconnect), for
    # listeners that must stop trusting what they derived from events meanwhile (session cache).
    on_lost: list[Callable[[], None]] = field(default_factory=list, init=False)

    def subscribe(self, kind: str, actor_id: str) -> Subscription:
        channel = actor_channel(kind, actor_id).encode()
        return Subscription(self, kind, actor_id, channel, EventQueue(self.queue_size))

    @property
    def listener_count(self) -> int:
        return sum(len(subs) for subs in self._listeners.values())

    def listeners_of(self, kind: str) -> int:
        """Listeners of one actor kind (the hub also carries e.g. the sessions' invalidations)."""
        return sum(1 for subs in self._listeners.values() for sub in subs if sub.kind == kind)

    async def aclose(self) -> None:
        if self._syncing is not None:
            await cancel_and_wait(self._syncing, CLOSE_TIMEOUT_S)
            self._syncing = None
        if self._reader is not None:
            await cancel_and_wait(self._reader, CLOSE_TIMEOUT_S)
            self._reader = None
        if self._pubsub is not None:
            # Bounded: with Redis gone, closing must not hold up the app's shutdown.
            with contextlib.suppress(TimeoutError, RedisConnectionError, RedisTimeoutError, OSError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        self._listeners.clear()
        self._confirmed.clear()
        self._subscribed.clear()

    async def _add(self, sub: Subscription) -> None:
        # Registered before the first await, removed by `_discard` whatever interrupts us: the
        # listener table never depends on an await finishing.
        self._listeners.setdefault(sub.channel, set()).add(sub)
        confirmed = self._confirmed.setdefault(sub.channel, asyncio.Event())
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that lands as the confirmation arrives, leaving a cancelled caller waiting forever.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                if not confirmed.is_set():
                    # Shielded: our cancellation must not interrupt a SUBSCRIBE other listeners wait for.
                    await asyncio.shield(self._sync_soon())
                    await confirmed.wait()
        except BaseException:
            self._discard(sub)
            raise

    def _discard(self, sub: Subscription) -> None:
        """Forget `sub` at once (idempotent); the channel's UNSUBSCRIBE, if due, runs in the hub's task."""
        subs = self._listeners.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if subs:
            return
        del self._listeners[sub.channel]
        if sub.channel not in self._subscribed:
            self._confirmed.pop(sub.channel, None)
        self._sync_soon()

    def _sync_soon(self) -> asyncio.Task[None]:
        """The task bringing Redis's subscriptions in line with the listeners (one at a time)."""
        if self._syncing is None or self._syncing.done():
            self._syncing = asyncio.get_running_loop().create_task(self._sync(), name="event-hub-sync")
            self._syncing.add_done_callback(_log_failure)
        return self._syncing

    async def _sync(self) -> None:
        # Commands go out one at a time, in order, from this task alone; listeners come and go
        # while it awaits, so each round compares again until nothing is left to do.
        while True:
            wanted = set(self._listeners)
            missing, extra = wanted - self._subscribed, self._subscribed - wanted
            if not missing and not extra:
                return
            if self._pubsub is None and isinstance(self.redis, RedisCluster):
                # A worker whose first request is a stream has not run a command yet: the
                # cluster client knows no nodes until it is initialized (idempotent).
                await self.redis.initialize()
            pubsub = self._ensure_pubsub()
            if extra:
                # Forgotten before the await: a listener arriving meanwhile waits for a new SUBSCRIBE.
                self._subscribed -= extra
                for channel in extra:
                    self._confirmed.pop(channel, None)
                # A failed UNSUBSCRIBE leaves at worst an idle channel whose messages find no listener.
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                    async with self._wire:
                        await pubsub.unsubscribe(*extra)
            if missing:
                self._subscribed |= missing
                try:
                    async with self._wire:
                        await pubsub.subscribe(*missing)
                except BaseException:
                    self._subscribed -= missing
                    for channel in missing - set(self._listeners):
                        self._confirmed.pop(channel, None)
                    raise
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.get_running_loop().create_task(self._read(pubsub))

    def _ensure_pubsub(self) -> PubSub:
        if self._pubsub is None:
            if isinstance(self.redis, RedisCluster):
                # Classic PUBLISH reaches every node's subscribers, so any one node will do.
                self._pubsub = self.redis.pubsub(node=self.redis.get_primaries()[0])
            else:
                self._pubsub = self.redis.pubsub()
        assert self._pubsub is not None
        return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        delay = RECONNECT_DELAY_S[0]
        while True:
            try:
                # Short reads, so a SUBSCRIBE waits at most READ_WINDOW_S for the connection.
                async with self._wire:
                    message = await pubsub.get_message(timeout=READ_WINDOW_S)
                delay = RECONNECT_DELAY_S[0]
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("actor events: pub/sub connection lost (%s); reconnecting", exc)
                for callback in tuple(self.on_lost):
                    callback()
                await asyncio.sleep(delay)  # back off before redis-py reconnects and resubscribes
                delay = min(delay * 2, RECONNECT_DELAY_S[1])
                continue
            except Exception:
                # Keep listening whatever happens: a dead reader would silence every stream.
                log.exception("actor events: unexpected error reading pub/sub")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_DELAY_S[1])
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        if kind == "message":
            try:
                event = parse_event(message["data"])
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("actor events: ignoring a malformed message on %r", channel)
                return
            for sub in tuple(self._listeners.get(channel, ())):
                sub._deliver(event)
        elif kind == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is None:
                return
            if confirmed.is_set():
                # A second confirmation means redis-py reconnected and resubscribed: anything
                # published while we were away is lost, so listeners must re-read the state.
                for sub in tuple(self._listeners.get(channel, ())):
                    sub._deliver(Gap(sub.kind, sub.id))
            confirmed.set()
