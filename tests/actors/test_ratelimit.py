"""RateLimitActor: exact bursts under concurrency, retry-after, independent keys."""

from __future__ import annotations

import asyncio
import time

import pytest

from actors.connection import RedisClient
from actors.ratelimit import RateLimitActor

# Limiter keys are hashed, so the uid cleanup cannot find them: every window here is short
# enough that the keys expire on their own soon after the test.


async def test_ratelimit_concurrent_burst_lets_exactly_limit_through(redis: RedisClient, uid: str) -> None:
    limiter = RateLimitActor(redis)
    decisions = await asyncio.gather(
        *(limiter.hit(f"signin:ip:{uid}", limit=10, window_seconds=30) for _ in range(200))
    )
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))
    denied = [d for d in decisions if not d.allowed]
    assert all(0 < d.retry_after <= 3.0 and d.remaining == 0 and d.limit == 10 for d in denied)


async def test_ratelimit_keys_are_independent_and_may_be_any_string(redis: RedisClient, uid: str) -> None:
    limiter = RateLimitActor(redis)
    keys = [f"signin:email:{uid}+{n}@Exämple.com" for n in range(5)] + [f"route:/a b/{uid}", f"[::1]{uid}"]
    for key in keys:
        assert [(await limiter.hit(key, limit=2, window_seconds=10)).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]


async def test_ratelimit_cost_spends_several_units(redis: RedisClient, uid: str) -> None:
    limiter = RateLimitActor(redis)
    first = await limiter.hit(uid, limit=10, window_seconds=10, cost=7)
    second = await limiter.hit(uid, limit=10, window_seconds=10, cost=4)
    assert (first.allowed, first.remaining) == (True, 3)
    assert (second.allowed, second.remaining) == (False, 3)
    assert 0.0 < second.retry_after <= 1.0


async def test_ratelimit_refills_after_retry_after(redis: RedisClient, uid: str) -> None:
    limiter = RateLimitActor(redis)
    for _ in range(5):
        await limiter.hit(uid, limit=5, window_seconds=0.5)
    denied = await limiter.hit(uid, limit=5, window_seconds=0.5)
    assert not denied.allowed
    deadline = time.monotonic() + 5
    while not (await limiter.hit(uid, limit=5, window_seconds=0.5)).allowed:
        assert time.monotonic() < deadline
        await asyncio.sleep(denied.retry_after / 4)


async def test_ratelimit_repeated_request_id_counts_once(redis: RedisClient, uid: str) -> None:
    limiter = RateLimitActor(redis)
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
    redis: RedisClient, uid: str, limit: int, window: float, cost: int
) -> None:
    with pytest.raises(ValueError):
        await RateLimitActor(redis).hit(uid, limit=limit, window_seconds=window, cost=cost)
