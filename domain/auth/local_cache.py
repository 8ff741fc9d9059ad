"""In-process session cache: most signed-in requests resolve with no Redis or database round trip.

Each process keeps the sessions it resolved recently (with their user) in memory. A change that
must take effect everywhere (sign-out, revoke, a profile or admin-flag change) is published on
one Redis channel; every process drops the matching entries when the message arrives. The cache
only answers while that channel is subscribed: before the subscription is confirmed, and from a
lost connection until it is back, every lookup goes to Redis as before, and a reconnect empties
it (messages sent meanwhile are gone). Entries also expire after `LOCAL_TTL_S` whatever happens.

A lookup that started before an invalidation arrived must not store what it read: the
`generation` number, bumped by every invalidation, tells `put` that its value may be stale.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec

from actors.connection import RedisClient
from actors.events import ActorEvent
from actors.keys import actor_channel
from actors.listen import EventHub, Gap
from domain.auth.types import AuthUser

log = logging.getLogger(__name__)

# How long an entry may answer without a round trip; bounds staleness after a missed message.
LOCAL_TTL_S = 30.0
MAX_ENTRIES = 10_000
CHANNEL_KIND, CHANNEL_ID = "auth", "invalidate"
RETRY_DELAY_S = (0.1, 5.0)


class CachedSession(msgspec.Struct, frozen=True):
    """A session row as the caches keep it (Redis as JSON, this process in a LocalEntry)."""

    id: int
    user_id: int
    expires_at: float
    last_seen: float


class LocalEntry(msgspec.Struct, frozen=True):
    """What `SessionStore.resolve` needs to answer: the session's cached row and its user."""

    session: CachedSession
    user: AuthUser


class Invalidation(msgspec.Struct, frozen=True, omit_defaults=True):
    """The message every process applies: drop these sessions and/or everything of this user."""

    sessions: list[str] = []
    user: int | None = None


def invalidation_channel() -> str:
    return actor_channel(CHANNEL_KIND, CHANNEL_ID)


class LocalSessionCache:
    """token hash -> LocalEntry, trusted only while the invalidation channel is subscribed."""

    def __init__(self, ttl_s: float = LOCAL_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.generation = 0
        self.live = False  # True while invalidations are being received
        self._entries: dict[str, tuple[float, LocalEntry]] = {}
        self._changed = asyncio.Condition()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token_hash: str) -> LocalEntry | None:
        if not self.live:
            return None
        found = self._entries.get(token_hash)
        if found is None:
            return None
        stored_at, entry = found
        if self.clock() - stored_at > self.ttl_s:
            del self._entries[token_hash]
            return None
        return entry

    def put(self, token_hash: str, entry: LocalEntry, *, since_generation: int) -> None:
        """Keep `entry` unless an invalidation arrived after the lookup that read it began."""
        if not self.live or since_generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES and token_hash not in self._entries:
            # Oldest first (dicts keep insertion order): drop a tenth rather than one per insert.
            for key in list(self._entries)[: MAX_ENTRIES // 10]:
                del self._entries[key]
        self._entries[token_hash] = (self.clock(), entry)

    def apply(self, change: Invalidation) -> None:
        self.generation += 1
        for token_hash in change.sessions:
            self._entries.pop(token_hash, None)
        if change.user is not None:
            for key in [k for k, (_, e) in self._entries.items() if e.user.id == change.user]:
                del self._entries[key]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def publish(self, redis: RedisClient, change: Invalidation) -> None:
        """Apply here at once, then tell every other process (a failure is logged: TTL bounds it)."""
        self.apply(change)
        try:
            await redis.publish(invalidation_channel(), self._encode(change))
        except Exception as exc:  # Redis down: other processes forget within LOCAL_TTL_S
            log.warning("session invalidation not published: %s", exc)

    @staticmethod
    def _encode(change: Invalidation) -> bytes:
        event = ActorEvent(CHANNEL_KIND, CHANNEL_ID, msgspec.to_builtins(change), 0)
        return msgspec.json.encode(event)

    async def _received(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_generation(self, above: int, timeout_s: float = 5.0) -> int:
        """Return once an invalidation beyond `above` was applied (tests; operators' scripts)."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: self.generation > above)
        return self.generation

    async def wait_live(self, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: self.live)

    async def follow(self, hub: EventHub) -> None:
        """Run for the process's life: apply every invalidation; go dark while not subscribed."""
        delay = RETRY_DELAY_S[0]
        hub.on_lost.append(self._go_dark)
        try:
            while True:
                try:
                    async with hub.subscribe(CHANNEL_KIND, CHANNEL_ID) as events:
                        self.clear()
                        self.live = True
                        await self._received()
                        delay = RETRY_DELAY_S[0]
                        async for item in events:
                            if isinstance(item, Gap):
                                # Resubscribed after a drop: messages sent meanwhile are lost.
                                self.clear()
                                self.live = True
                            else:
                                self._apply_event(item)
                            await self._received()
                except Exception as exc:
                    log.warning("session invalidations unavailable, using Redis for every lookup: %s", exc)
                self._go_dark()
                await asyncio.sleep(delay)  # back off before subscribing again
                delay = min(delay * 2, RETRY_DELAY_S[1])
        finally:
            self._go_dark()
            if self._go_dark in hub.on_lost:
                hub.on_lost.remove(self._go_dark)

    def _go_dark(self) -> None:
        self.live = False
        self.clear()

    def _apply_event(self, event: ActorEvent) -> None:
        try:
            change = msgspec.convert(event.state, Invalidation)
        except msgspec.ValidationError:
            log.warning("ignoring a malformed session invalidation")
            self.clear()  # unknown change: forgetting everything is always safe
            return
        self.apply(change)
