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
    """At most `limit` calls per `window_seconds`, counted per tenant, signed-in user or client IP.

    `per="org"` gives each tenant (`ctx.tenant()`, the app's tenant hook) its own budget, so one
    tenant spending it all refuses no other; a caller with no tenant is counted as `per="user"`,
    and a signed-out caller per IP.
    """

    limit: int
    window_seconds: int
    per: Literal["user", "ip", "org"] = "user"
    message: str = "Too many requests. Please try again in {retry_after} seconds."

    async def _who(self, ctx: Context) -> str:
        if self.per == "org" and (tenant := await ctx.tenant()) is not None:
            return f"org:{tenant}"
        if self.per != "ip" and ctx.user is not None:
            return f"user:{ctx.user.id}"
        return f"ip:{ctx.address}"

    async def check(self, name: str, ctx: Context) -> None:
        try:
            who = await self._who(ctx)
            decision = await ctx.services.actor(RateLimitActor).hit(
                f"remote:{name}:{who}", limit=self.limit, window_seconds=self.window_seconds
            )
        except (RedisError, OSError) as exc:
            # Fail closed: an unchecked limit is no limit.
            raise Unavailable("Rate limiting is unavailable right now; please try again shortly.") from exc
        if not decision.allowed:
            wait = max(1, math.ceil(decision.retry_after))
            raise RateLimited(self.message.format(retry_after=wait), retry_after=decision.retry_after)
