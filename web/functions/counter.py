"""The original's counter remote functions: read, increment or schedule a reset (signed in), watch it live."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec

from actors.counter import CounterActor, CounterState
from actors.keys import InvalidActorId
from domain.errors import ValidationFailed
from web.live_views import live
from web.pages import home_section
from web.remote import Context, command, query

# Every open counter page follows its counter: each change re-renders the value, out-of-band.
live("counter", partial="partials/counter_value.html", context_name="counter", path="/counter/{id}/events")
# The home page shows the default counter, live.
home_section("partials/counter_home.html", query="get_counter")

# The actor id rule, checked at the edge so a bad id is a 422 naming `counter_id`.
CounterId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", max_length=64)]
ResetDelay = Annotated[int, msgspec.Meta(ge=1, le=86_400)]


@query(
    path="/counter/{counter_id}",
    public=True,
    partial="partials/counter.html",
    page="pages/counter.html",
    result_as="counter",
    aliases=("/counter",),
)
async def get_counter(ctx: Context, counter_id: CounterId = "default") -> CounterState:
    """The counter's current value: {count, id, timestamp}."""
    try:
        return await ctx.services.actor(CounterActor).get(counter_id)
    except InvalidActorId as exc:
        raise ValidationFailed("Invalid counter id", field_errors={"counter_id": str(exc)}) from None


@command(
    path="/counter/{counter_id}",
    signed_in="Please sign in to increment the counter",
    partial="partials/counter.html",
    page="pages/counter.html",
    result_as="counter",
)
async def increment_counter(ctx: Context, counter_id: CounterId = "default") -> CounterState:
    """Add one to the counter and return its new state."""
    try:
        return await ctx.services.actor(CounterActor).increment(counter_id, request_id=ctx.idempotency_key)
    except InvalidActorId as exc:
        raise ValidationFailed("Invalid counter id", field_errors={"counter_id": str(exc)}) from None


@command(
    path="/counter/{counter_id}/reset-at",
    signed_in="Please sign in to schedule a reset",
    partial="partials/counter.html",
    page="pages/counter.html",
    result_as="counter",
)
async def schedule_counter_reset(
    ctx: Context, counter_id: CounterId, seconds: ResetDelay = 10
) -> CounterState:
    """Reset the counter `seconds` from now by the actor's alarm (replacing any reset already set)."""
    counter = ctx.services.actor(CounterActor)
    try:
        await counter.set_alarm(counter_id, at=time.time() + seconds)
        return await counter.get(counter_id)
    except InvalidActorId as exc:
        raise ValidationFailed("Invalid counter id", field_errors={"counter_id": str(exc)}) from None
