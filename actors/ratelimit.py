"""RateLimitActor: a token bucket per key (IP + route, email, tenant) in one Lua script."""

from __future__ import annotations

import math

import msgspec

from actors.keys import hashed_id
from actors.runtime import Actor, Operation


class RateLimitDecision(msgspec.Struct, frozen=True):
    """`allowed`, the units left now, and seconds to wait before this cost would be allowed."""

    allowed: bool
    remaining: int
    retry_after: float
    limit: int


_decode = msgspec.json.Decoder(RateLimitDecision).decode


class RateLimitActor(Actor):
    """`hit(key, limit=N, window_seconds=W)`: at most N units per W seconds, refilled smoothly.

    A burst of up to N is allowed at once (so a concurrent burst of M > N lets exactly N
    through); after that one unit comes back every W/N seconds. Keys are arbitrary strings:
    they are hashed (sha256) into the actor id, so `f"signin:ip:{ip}"` is fine as is.
    """

    kind = "ratelimit"
    _hit = Operation("ratelimit_hit.lua")

    async def hit(
        self,
        key: str,
        *,
        limit: int,
        window_seconds: float,
        cost: int = 1,
        request_id: str | None = None,
    ) -> RateLimitDecision:
        """Spend `cost` units of `key`'s budget if it has them; say when to retry if not."""
        if not 1 <= limit <= 1_000_000:
            raise ValueError("limit must be from 1 to 1000000")
        if not 1 <= cost <= limit:
            raise ValueError("cost must be from 1 to limit")
        window_ms = math.ceil(window_seconds * 1000) if math.isfinite(window_seconds) else 0
        if not 1 <= window_ms <= 31_536_000_000:
            raise ValueError("window_seconds must be from 0.001 to one year")
        raw = await self.call(self._hit, hashed_id(key), (limit, window_ms, cost), request_id=request_id)
        return _decode(raw)
