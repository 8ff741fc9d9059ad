"""The in-process session cache: answers only while live, never keeps what an invalidation overtook."""

from __future__ import annotations

from domain.auth.local_cache import MAX_ENTRIES, CachedSession, Invalidation, LocalEntry, LocalSessionCache
from domain.auth.types import AuthUser


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry(user_id: int = 1, session_id: int = 10) -> LocalEntry:
    user = AuthUser(id=user_id, email=f"u{user_id}@example.com", name="U", avatar=None)
    return LocalEntry(CachedSession(session_id, user_id, 2e9, 1e9), user)


def live_cache(clock: Clock | None = None) -> LocalSessionCache:
    cache = LocalSessionCache(ttl_s=30, clock=clock or Clock())
    cache.live = True
    return cache


def test_nothing_is_kept_or_answered_while_invalidations_are_not_received() -> None:
    cache = LocalSessionCache()
    cache.put("h", entry(), since_generation=cache.generation)
    assert cache.get("h") is None and len(cache) == 0
    cache.live = True
    cache.put("h", entry(), since_generation=cache.generation)
    assert cache.get("h") == entry()
    cache.live = False
    assert cache.get("h") is None


def test_a_lookup_overtaken_by_an_invalidation_does_not_store_its_stale_read() -> None:
    cache = live_cache()
    started = cache.generation
    cache.apply(Invalidation(sessions=["h"]))  # arrives while that lookup awaited Redis
    cache.put("h", entry(), since_generation=started)
    assert cache.get("h") is None


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = live_cache(clock)
    cache.put("h", entry(), since_generation=cache.generation)
    clock.now += 29
    assert cache.get("h") is not None
    clock.now += 2
    assert cache.get("h") is None and len(cache) == 0


def test_invalidations_drop_named_sessions_and_every_session_of_a_user() -> None:
    cache = live_cache()
    for name, user_id in (("a1", 1), ("a2", 1), ("b1", 2), ("c1", 3)):
        cache.put(name, entry(user_id), since_generation=cache.generation)
    cache.apply(Invalidation(user=1))
    assert [cache.get(k) is not None for k in ("a1", "a2", "b1", "c1")] == [False, False, True, True]
    cache.apply(Invalidation(sessions=["b1", "unknown"]))
    assert cache.get("b1") is None and cache.get("c1") is not None


def test_the_cache_is_bounded_and_evicts_the_oldest_first() -> None:
    cache = live_cache()
    for i in range(MAX_ENTRIES + 1):
        cache.put(f"h{i}", entry(), since_generation=cache.generation)
    assert len(cache) <= MAX_ENTRIES
    assert cache.get("h0") is None and cache.get(f"h{MAX_ENTRIES}") is not None
