"""Idempotency keys on commands: a repeated key applies once, per caller and per function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.tally import TallyActor, TallyState
from tests.web.auth_support import Browser
from tests.web.remote_support import BASE_URL, USER_HEADER, csrf, make_app
from web.remote import Context, Registry, command, query

JSON = {"Accept": "application/json"}
SIGNED_IN = {USER_HEADER: "1"}
Client = TestClient[Litestar]
TallyId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


def tally_functions() -> Registry:
    """Read a tally, add to it (signed in, or anyone) and a second adding command: all keyed by request."""
    registry = Registry()

    @query(registry=registry, path="/tallies/{tally_id}", public=True)
    async def get_tally(ctx: Context, tally_id: TallyId) -> TallyState:
        return await ctx.services.actor(TallyActor).get(tally_id)

    @command(registry=registry, path="/tallies/{tally_id}", signed_in="Please sign in")
    async def add_to_tally(ctx: Context, tally_id: TallyId) -> TallyState:
        return await ctx.services.actor(TallyActor).increment(tally_id, request_id=ctx.idempotency_key)

    @command(registry=registry, path="/tallies/{tally_id}/bump", signed_in="Please sign in")
    async def bump_tally(ctx: Context, tally_id: TallyId) -> TallyState:
        return await ctx.services.actor(TallyActor).increment(tally_id, request_id=ctx.idempotency_key)

    @command(registry=registry, path="/tallies/{tally_id}/public", public=True)
    async def add_to_tally_publicly(ctx: Context, tally_id: TallyId) -> TallyState:
        return await ctx.services.actor(TallyActor).increment(tally_id, request_id=ctx.idempotency_key)

    return registry


def tally_client(tmp_path: Path, redis_url: str) -> Client:
    return TestClient(app=make_app(tally_functions(), tmp_path, redis_url), base_url=BASE_URL)


def count(client: Client, tally_id: str) -> int:
    value: int = client.get(f"/tallies/{tally_id}", headers=JSON).json()["count"]
    return value


def test_same_idempotency_key_applies_once(tmp_path: Path, redis_url: str) -> None:
    with tally_client(tmp_path, redis_url) as client:
        token = csrf(client)
        headers = {**JSON, **SIGNED_IN, "x-csrftoken": token, "Idempotency-Key": "key-0001"}
        first = client.post("/tallies/once", headers=headers).json()
        again = client.post("/tallies/once", headers=headers).json()
        assert first == again and first["count"] == 1
        # The form field the rendered buttons carry works the same: a double submit applies once.
        form = {"_csrf_token": token, "_idempotency_key": "form-key-1"}
        for _ in range(3):
            client.post("/tallies/once", data=form, headers=SIGNED_IN, follow_redirects=False)
        assert count(client, "once") == 2


def test_bad_idempotency_key_is_422(tmp_path: Path, redis_url: str) -> None:
    with tally_client(tmp_path, redis_url) as client:
        headers = {**JSON, **SIGNED_IN, "x-csrftoken": csrf(client), "Idempotency-Key": "no spaces allowed"}
        response = client.post("/tallies/once", headers=headers)
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"idempotency_key"}
        assert count(client, "once") == 0


def test_same_idempotency_key_from_two_users_applies_for_each(tmp_path: Path, redis_url: str) -> None:
    """User 2 replaying user 1's key on the same tally is user 2's own addition, with its own answer."""
    with tally_client(tmp_path, redis_url) as client:
        answers = []
        for user in ("1", "2"):
            headers = {
                **JSON,
                USER_HEADER: user,
                "x-csrftoken": csrf(client),
                "Idempotency-Key": "shared-key-1",
            }
            answers.append([client.post("/tallies/shared", headers=headers) for _ in range(2)])
        (a_first, a_again), (b_first, b_again) = answers
        assert all(r.status_code == 200 for r in (a_first, a_again, b_first, b_again))
        assert a_first.json() == a_again.json() and a_first.json()["count"] == 1
        assert b_first.json() == b_again.json() and b_first.json()["count"] == 2
        assert count(client, "shared") == 2


def test_same_idempotency_key_on_another_function_is_a_fresh_request(tmp_path: Path, redis_url: str) -> None:
    with tally_client(tmp_path, redis_url) as client:
        headers = {**JSON, **SIGNED_IN, "x-csrftoken": csrf(client), "Idempotency-Key": "same-key-9"}
        first = client.post("/tallies/two", headers=headers).json()
        other = client.post("/tallies/two/bump", headers=headers).json()
        other_again = client.post("/tallies/two/bump", headers=headers).json()
        assert (first["count"], other["count"]) == (1, 2)
        assert other_again == other
        assert count(client, "two") == 2


def test_same_idempotency_key_from_two_signed_out_browsers_applies_for_each(
    tmp_path: Path, redis_url: str
) -> None:
    """Without a user, the browser (its CSRF secret) owns the key."""
    with tally_client(tmp_path, redis_url) as client:
        one, two = Browser(client), Browser(client)
        counts = []
        for browser in (one, two, one):
            with browser.active() as active:
                headers = {**JSON, "x-csrftoken": csrf(active), "Idempotency-Key": "anon-key-1"}
                counts.append(active.post("/tallies/anon/public", headers=headers).json()["count"])
        assert counts == [1, 2, 1]
