"""Per-tenant rate limits and usage tracking through remote functions, on the app's tenant hook."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from actors.connection import create_redis
from actors.usage import UsageActor, tenant_subject, user_subject
from domain.auth.types import AuthSession, AuthUser
from tests.web.remote_support import BASE_URL, USER_HEADER, Note, make_app
from web.remote import Context, RateLimit, Registry, command, query
from web.services import Services

JSON = {"Accept": "application/json"}
Client = AsyncTestClient[Litestar]


def tenancy_registry() -> Registry:
    registry = Registry()

    @query(registry=registry, public=True, track="note.read")
    async def read_note(ctx: Context, n: int = 0) -> Note:
        return Note(title="read", count=n)

    @command(registry=registry, public=False, track="note.add")
    async def add_note(ctx: Context) -> Note:
        return Note(title="added")

    @query(registry=registry, public=False, rate_limit=RateLimit(limit=20, window_seconds=3600, per="org"))
    async def org_limited(ctx: Context) -> Note:
        return Note(title=await ctx.tenant() or "none")

    return registry


@pytest.fixture
async def client(tmp_path: Path, redis_url: str) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=make_app(tenancy_registry(), tmp_path, redis_url), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def usage(redis_url: str) -> AsyncIterator[UsageActor]:
    """The usage actor on a client of the test's own loop (the app's client lives in the app's loop)."""
    redis = create_redis(redis_url)
    yield UsageActor(redis)
    await redis.aclose()


def services(client: Client) -> Services:
    found: Services = client.app.state.services
    return found


def use_tenants(client: Client, tenants: dict[int, str]) -> None:
    """The app's tenant hook (`Services.tenant_of`, where the organizations feature plugs in): by user."""

    async def tenant_of(user: AuthUser | None, session: AuthSession | None) -> str | None:
        return tenants.get(user.id) if user is not None else None

    services(client).tenant_of = tenant_of


def as_user(user_id: int | None) -> dict[str, str]:
    return JSON if user_id is None else {**JSON, USER_HEADER: str(user_id)}


async def last_two_days(usage: UsageActor, subject: str) -> dict[str, int]:
    """Counts of today and yesterday together (a run across UTC midnight splits them)."""
    days = await usage.days(subject, 2)
    total: Counter[str] = Counter()
    for day in days:
        total.update(day.counts)
    return dict(total)


async def test_usage_exact_after_1000_concurrent_tracked_calls(client: Client, usage: UsageActor) -> None:
    acme, globex = "acme", "globex"
    users = list(range(101, 111))
    use_tenants(client, {u: acme if u % 2 else globex for u in users[:8]})  # the last two: no tenant
    callers: list[int | None] = [users[n % len(users)] if n % 7 else None for n in range(1000)]

    async def call(n: int, user_id: int | None) -> int:
        return (await client.get("/_remote/read_note", params={"n": n}, headers=as_user(user_id))).status_code

    assert await asyncio.gather(*(call(n, u) for n, u in enumerate(callers))) == [200] * 1000
    per_user = Counter(u for u in callers if u is not None)
    for user_id in users:
        assert await last_two_days(usage, user_subject(user_id)) == {"note.read": per_user[user_id]}
    in_acme = sum(per_user[u] for u in users[:8] if u % 2)
    in_globex = sum(per_user[u] for u in users[:8] if u % 2 == 0)
    assert await last_two_days(usage, tenant_subject(acme)) == {"note.read": in_acme}
    assert await last_two_days(usage, tenant_subject(globex)) == {"note.read": in_globex}
    assert in_acme + in_globex + per_user[users[8]] + per_user[users[9]] + callers.count(None) == 1000


async def test_refused_calls_are_not_tracked(client: Client, usage: UsageActor) -> None:
    use_tenants(client, {100: "tenant"})
    response = await client.get("/_remote/read_note", params={"n": "x"}, headers=as_user(100))
    assert response.status_code == 422
    assert await last_two_days(usage, tenant_subject("tenant")) == {}
    assert await last_two_days(usage, user_subject(100)) == {}


async def test_a_repeated_idempotency_key_counts_once(client: Client, usage: UsageActor) -> None:
    use_tenants(client, {100: "tenant"})
    await client.get("/page/button")
    headers = {**as_user(100), "x-csrftoken": client.cookies["csrftoken"]}
    for key in ("submit-0001", "submit-0001", "submit-0002"):
        response = await client.post("/_remote/add_note", headers={**headers, "Idempotency-Key": key})
        assert response.status_code == 200
    assert await last_two_days(usage, tenant_subject("tenant")) == {"note.add": 2}
    assert await last_two_days(usage, user_subject(100)) == {"note.add": 2}


async def test_one_tenant_spending_its_budget_refuses_no_other(client: Client) -> None:
    noisy, quiet = "noisy", "quiet"
    use_tenants(client, {21: noisy, 22: noisy, 23: noisy, 31: quiet, 32: quiet})
    calls = [(21 + n % 3, noisy) for n in range(90)] + [(31 + n % 2, quiet) for n in range(20)]
    random.Random(7).shuffle(calls)

    async def call(user_id: int) -> Any:
        return await client.get("/_remote/org_limited", headers=as_user(user_id))

    responses = await asyncio.gather(*(call(user_id) for user_id, _ in calls))
    outcome = Counter((tenant, r.status_code) for (_, tenant), r in zip(calls, responses, strict=True))
    assert outcome == {(noisy, 200): 20, (noisy, 429): 70, (quiet, 200): 20}
    assert {r.json()["title"] for r in responses if r.status_code == 200} == {noisy, quiet}
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1


async def test_per_org_limit_without_a_tenant_counts_per_user(client: Client) -> None:
    # The default hook: nobody is in a tenant.
    first = await asyncio.gather(
        *(client.get("/_remote/org_limited", headers=as_user(100)) for _ in range(21))
    )
    assert sorted(r.status_code for r in first) == [200] * 20 + [429]
    other = await client.get("/_remote/org_limited", headers=as_user(101))
    assert (other.status_code, other.json()["title"]) == (200, "none")


def test_track_refuses_a_bad_event_name_at_declaration() -> None:
    async def fn(ctx: Context) -> Note:
        return Note(title="x")

    with pytest.raises(ValueError, match="invalid usage event"):
        query(registry=Registry(), public=True, track="Not An Event")(fn)
