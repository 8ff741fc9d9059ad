"""Per-function rate limits, counted by the rate limit actor; fail closed when Redis is down."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from redis.exceptions import RedisError

from actors.ratelimit import RateLimitActor
from domain.errors import RateLimited, Unavailable
from web.remote.context import Context


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` calls per `window_seconds`, counted per signed-in user (or per client IP)."""

    limit: int
    window_seconds: int
    per: Literal["user", "ip"] = "user"
    message: str = "Too many requests. Please try again in {retry_after} seconds."

    async def check(self, name: str, ctx: Context) -> None:
        who = f"user:{ctx.user.id}" if self.per == "user" and ctx.user else f"ip:{ctx.address}"
        try:
            decision = await ctx.services.actor(RateLimitActor).hit(
                f"remote:{name}:{who}", limit=self.limit, window_seconds=self.window_seconds
            )
        except (RedisError, OSError) as exc:
            # Fail closed: an unchecked limit is no limit.
            raise Unavailable("Rate limiting is unavailable right now; please try again shortly.") from exc
        if not decision.allowed:
            wait = max(1, math.ceil(decision.retry_after))
            raise RateLimited(self.message.format(retry_after=wait), retry_after=decision.retry_after)
