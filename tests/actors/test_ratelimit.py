"""RateLimitActor: exact bursts under concurrency, retry-after, independent keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.connection import RedisClient
from actors.keys import actor_key, hashed_id
from actors.ratelimit import RateLimitActor, RateLimitDecision


class TrackedLimiter(RateLimitActor):
    """Remembers the keys it was given: their hashed ids escape the uid-based cleanup."""

    def __init__(self, redis: RedisClient) -> None:
        super().__init__(redis)
        self.raw_keys: set[str] = set()

    async def hit(self, key: str, **kwargs: Any) -> RateLimitDecision:
        self.raw_keys.add(key)
        return await super().hit(key, **kwargs)


@pytest.fixture
async def limiter(redis: RedisClient) -> AsyncIterator[TrackedLimiter]:
    tracked = TrackedLimiter(redis)
    yield tracked
    for raw in tracked.raw_keys:
        state_key = actor_key("ratelimit", hashed_id(raw))
        await redis.delete(state_key, *[k async for k in redis.scan_iter(match=f"{state_key}:*")])


async def test_ratelimit_concurrent_burst_lets_exactly_limit_through(
    limiter: TrackedLimiter, uid: str
) -> None:
    decisions = await asyncio.gather(
        *(limiter.hit(f"signin:ip:{uid}", limit=10, window_seconds=30) for _ in range(200))
    )
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))
    denied = [d for d in decisions if not d.allowed]
    assert all(0 < d.retry_after <= 3.0 and d.remaining == 0 and d.limit == 10 for d in denied)


async def test_ratelimit_keys_are_independent_and_may_be_any_string(
    limiter: TrackedLimiter, uid: str
) -> None:
    keys = [f"signin:email:{uid}+{n}@Exämple.com" for n in range(5)] + [f"route:/a b/{uid}", f"[::1]{uid}"]
    for key in keys:
        assert [(await limiter.hit(key, limit=2, window_seconds=10)).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]


async def test_ratelimit_cost_spends_several_units(limiter: TrackedLimiter, uid: str) -> None:
    first = await limiter.hit(uid, limit=10, window_seconds=10, cost=7)
    second = await limiter.hit(uid, limit=10, window_seconds=10, cost=4)
    assert (first.allowed, first.remaining) == (True, 3)
    assert (second.allowed, second.remaining) == (False, 3)
    assert 0.0 < second.retry_after <= 1.0


async def test_ratelimit_refills_after_retry_after(limiter: TrackedLimiter, uid: str) -> None:
    for _ in range(5):
        await limiter.hit(uid, limit=5, window_seconds=0.5)
    denied = await limiter.hit(uid, limit=5, window_seconds=0.5)
    assert not denied.allowed
    deadline = time.monotonic() + 5
    while not (await limiter.hit(uid, limit=5, window_seconds=0.5)).allowed:
        assert time.monotonic() < deadline
        await asyncio.sleep(denied.retry_after / 4)


async def test_ratelimit_repeated_request_id_counts_once(limiter: TrackedLimiter, uid: str) -> None:
    first = await limiter.hit(uid, limit=3, window_seconds=10, request_id="req-1")
    again = await limiter.hit(uid, limit=3, window_seconds=10, request_id="req-1")
    third = await limiter.hit(uid, limit=3, window_seconds=10)
    assert first == again
    assert third.remaining == 1


@pytest.mark.parametrize(
    ("limit", "window", "cost"),
    [(0, 1, 1), (2_000_000, 1, 1), (5, 0, 1), (5, float("inf"), 1), (5, 1, 0), (5, 1, 6)],
)
async def test_ratelimit_rejects_bad_arguments(
    limiter: TrackedLimiter, uid: str, limit: int, window: float, cost: int
) -> None:
    with pytest.raises(ValueError):
        await limiter.hit(uid, limit=limit, window_seconds=window, cost=cost)
