"""`track="event"` on a remote function: count each successful call for the caller's tenant and user."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from actors.usage import UsageActor, tenant_subject, user_subject, validate_event
from web.remote.context import Context

log = logging.getLogger(__name__)

__all__ = ["track_call", "validate_event"]


async def track_call(event: str, ctx: Context) -> None:
    """Record `event` in the caller's tenant's usage (if `ctx.tenant()` names one) and user's (if signed in).

    The call's idempotency key is the record's request id, so a repeated submission counts once. A
    failure is logged, not raised: the call itself already happened.
    """
    try:
        tenant = await ctx.tenant()
        subjects = [tenant_subject(tenant)] if tenant is not None else []
        if ctx.user is not None:
            subjects.append(user_subject(ctx.user.id))
        usage = ctx.services.actor(UsageActor)
        # Issued together, so the runner sends them in one round trip.
        await asyncio.gather(
            *(usage.record(subject, event, request_id=ctx.idempotency_key) for subject in subjects)
        )
    except (RedisError, OSError):
        log.warning("usage of %s not recorded request_id=%s", event, ctx.request_id, exc_info=True)
