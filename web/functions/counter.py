"""The original's counter remote functions: read, increment or schedule a reset (signed in), watch it live.

Also each organization's own counters (/orgs/{slug}/counters/...), listed live on its page.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec

from actors.counter import CounterActor, CounterState, TenantCounters
from actors.events import ActorEvent
from actors.keys import InvalidActorId, scoped, tenant_of
from actors.runtime import ActorSet
from domain.errors import NotFound, ValidationFailed
from domain.orgs.members import OrgAccess
from web.functions.orgs import org_page_view, org_section
from web.live_views import live
from web.pages import home_section
from web.remote import Context, RateLimit, command, form, query

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


# --- an organization's counters (the tenancy and fleet patterns) --------------------------------
# Each is the actor scoped(slug, name): its keys carry the organization's hash tag, and the counter
# kind reports every change to the organization's fleet index, which the organization page lists.

ORG_SIGN_IN = "Please sign in to see your organization's counters"
ORG_COUNTER_PAGE = "pages/org_counter.html"
# One budget per organization for each kind of counter change (a burst of 200, then one every 18 s):
# a busy tenant never slows or refuses another's.
ORG_COUNTER_LIMIT = RateLimit(limit=200, window_seconds=3600, per="org")
# A counter name within its organization (scoped()'s rule, no ':'): anything else is a 422.
OrgCounterName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class OrgCounter(msgspec.Struct, frozen=True):
    """One organization counter as its page shows it: the organization, the name and the state."""

    slug: str
    org_name: str
    name: str
    counter: CounterState


class NewOrgCounter(msgspec.Struct):
    name: str = ""


class TenantCountersReader:
    """The live view of an organization's counters: `get(org:{<slug>})` lists them with their total.

    A fleet event names one child's change, not the list, so the list is read again after each
    change: once per process, every stream there sharing the read and the rendered message.
    """

    def __init__(self, actors: ActorSet) -> None:
        self.counters = actors.get(CounterActor)

    async def get(self, actor_id: str) -> TenantCounters:
        tenant = tenant_of(actor_id) or ""
        return await self.counters.in_tenant(tenant)

    @staticmethod
    def state_from_event(event: ActorEvent) -> None:
        return None


async def org_counters_key(ctx: Context, slug: str) -> str:
    """The live list's actor: the organization's fleet, for its members only (else 404)."""
    org = await ctx.org_access(slug)
    return scoped(org.slug)


async def org_counter_key(ctx: Context, slug: str, counter_name: str) -> str:
    """The live counter's actor, for the organization's members only, and only while it exists."""
    org = await ctx.org_access(slug)
    return (await _existing(ctx, org.slug, counter_name)).id


live(
    "counter",
    name="org_counter",
    partial="partials/counter_value.html",
    context_name="counter",
    path="/orgs/{slug}/counters/{counter_name}/events",
    key=org_counter_key,
)
live(
    "fleet",
    name="org_counters",
    partial="partials/org_counters_list.html",
    context_name="counters",
    path="/orgs/{slug}/fleet/counters/events",
    key=org_counters_key,
    reader=TenantCountersReader,
)


async def _org_counters(ctx: Context, org: OrgAccess) -> TenantCounters:
    return await ctx.services.actor(CounterActor).in_tenant(org.slug)


# The organization page lists its counters (partials/org_counters.html, given `section`).
org_section("partials/org_counters.html", _org_counters)


async def _existing(ctx: Context, tenant: str, name: str) -> CounterState:
    """The tenant's counter `name`, or NotFound when it was never created (or is deleted)."""
    try:
        state = await ctx.services.actor(CounterActor).get(scoped(tenant, name))
    except InvalidActorId:
        raise NotFound("No such counter.") from None
    if state.version == 0:
        raise NotFound("No such counter.")
    return state


async def _org_counter(ctx: Context, slug: str, name: str, change: str | None = None) -> OrgCounter:
    """Check membership (tenant="slug" already did, memoized) and existence, then apply `change`."""
    org = await ctx.org_access(slug)
    state = await _existing(ctx, org.slug, name)
    counters = ctx.services.actor(CounterActor)
    key = ctx.idempotency_key
    if change == "increment":
        state = await counters.increment(state.id, request_id=key)
    elif change == "decrement":
        state = await counters.decrement(state.id, request_id=key)
    elif change == "reset":
        state = await counters.reset(state.id, request_id=key)
    return OrgCounter(slug=org.slug, org_name=org.name, name=name, counter=state)


def _org_counter_change(verb: str) -> dict[str, Any]:
    """Declaration options shared by the counter's changes: one per-organization budget, tracked."""
    return {
        "path": f"/orgs/{{slug}}/counters/{{counter_name}}/{verb}",
        "signed_in": ORG_SIGN_IN,
        "tenant": "slug",
        "partial": "partials/org_counter.html",
        "page": ORG_COUNTER_PAGE,
        "result_as": "org_counter",
        "rate_limit": ORG_COUNTER_LIMIT,
        "track": f"counter.{verb}",
    }


@query(
    path="/orgs/{slug}/counters/{counter_name}",
    signed_in=ORG_SIGN_IN,
    tenant="slug",
    partial="partials/org_counter.html",
    page=ORG_COUNTER_PAGE,
    result_as="org_counter",
)
async def get_org_counter(ctx: Context, slug: str, counter_name: OrgCounterName) -> OrgCounter:
    """One of the organization's counters (members only), live for everyone viewing it."""
    return await _org_counter(ctx, slug, counter_name)


@command(**_org_counter_change("increment"))
async def increment_org_counter(ctx: Context, slug: str, counter_name: OrgCounterName) -> OrgCounter:
    """Add one to the organization's counter."""
    return await _org_counter(ctx, slug, counter_name, "increment")


@command(**_org_counter_change("decrement"))
async def decrement_org_counter(ctx: Context, slug: str, counter_name: OrgCounterName) -> OrgCounter:
    """Take one from the organization's counter."""
    return await _org_counter(ctx, slug, counter_name, "decrement")


@command(**_org_counter_change("reset"))
async def reset_org_counter(ctx: Context, slug: str, counter_name: OrgCounterName) -> OrgCounter:
    """Set the organization's counter to zero."""
    return await _org_counter(ctx, slug, counter_name, "reset")


@command(**_org_counter_change("delete"))
async def delete_org_counter(ctx: Context, slug: str, counter_name: OrgCounterName) -> OrgCounter:
    """Delete the organization's counter (it leaves the organization's list)."""
    found = await _org_counter(ctx, slug, counter_name)
    state = await ctx.services.actor(CounterActor).delete(found.counter.id, request_id=ctx.idempotency_key)
    ctx.redirect_to(f"/orgs/{found.slug}", flash=f"Counter {counter_name} is deleted.")
    return OrgCounter(slug=found.slug, org_name=found.org_name, name=counter_name, counter=state)


@form(
    path="/orgs/{slug}/counters",
    signed_in=ORG_SIGN_IN,
    tenant="slug",
    page="pages/org.html",
    view=org_page_view,
    rate_limit=ORG_COUNTER_LIMIT,
    track="counter.create",
)
async def create_org_counter(ctx: Context, slug: str, data: NewOrgCounter) -> OrgCounter:
    """Create a counter in the organization (at 0), or open it when the name is taken."""
    ctx.show(slug=slug)
    org = await ctx.org_access(slug)
    name = data.name.strip()
    try:
        counter_id = scoped(org.slug, name)
    except InvalidActorId:
        raise ValidationFailed(
            "Check the counter's name.",
            field_errors={"name": "Use 1-64 letters, digits, '_', '.' or '-'."},
        ) from None
    counters = ctx.services.actor(CounterActor)
    state = await counters.get(counter_id)
    if state.version == 0:
        state = await counters.reset(counter_id, request_id=ctx.idempotency_key)
    ctx.redirect_to(f"/orgs/{org.slug}/counters/{name}")
    return OrgCounter(slug=org.slug, org_name=org.name, name=name, counter=state)
