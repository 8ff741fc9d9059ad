"""Sessions over HTTP: expiry, extension, revocation, fixation, cookies, the Redis cache and its absence."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from actors.connection import create_redis
from actors.ratelimit import RateLimitActor
from domain.auth.clock import utc_now
from domain.auth.sessions import SessionStore
from domain.auth.tables import Session, User
from domain.auth.tokens import hash_token
from tests.web.auth_support import (
    Client,
    auth_of,
    fast_hashing,
    post_form,
    run,
    session_cookie,
    sign_in,
    signed_in_user,
    verified_user,
)

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def _signed_in(client: Client) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def test_expired_session_is_refused_and_cookie_cleared(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert _signed_in(client)
    auth_of(client).sessions.clock = lambda: utc_now() + timedelta(days=7, seconds=1)
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert 'session=""' in response.headers["set-cookie"] or "session=;" in response.headers["set-cookie"]


def test_session_is_extended_when_used_a_day_after_the_last_extension(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    token = session_cookie(client)
    first = client.get("/account")
    assert "session=" not in first.headers.get("set-cookie", "")
    later = utc_now() + timedelta(days=2)
    auth_of(client).sessions.clock = lambda: later
    response = client.get("/account")
    assert response.status_code == 200
    assert f"session={token}" in response.headers["set-cookie"]
    max_age = int(re.search(r"Max-Age=(\d+)", response.headers["set-cookie"]).group(1))  # type: ignore[union-attr]
    assert max_age > timedelta(days=8).total_seconds()

    async def expiry() -> object:
        return (await Session.select(Session.expires_at).first())["expires_at"]  # type: ignore[index]

    assert run(client, expiry) > later + timedelta(days=6)  # type: ignore[operator]


def test_revoked_session_is_refused_even_when_cached(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    token = session_cookie(client)
    assert _signed_in(client)  # the session is now in the Redis cache
    post_form(client, "/auth/sign-out", {})
    client.cookies.set("session", token or "", domain="testserver.local")
    assert not _signed_in(client)


def test_session_id_and_csrf_token_change_at_sign_in(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    first = session_cookie(client)
    csrf_before = client.cookies["csrftoken"]
    assert sign_in(client, "ada@example.com").status_code == 200
    second = session_cookie(client)
    assert first and second and first != second
    assert client.cookies["csrftoken"] != csrf_before
    client.cookies.set("session", first, domain="testserver.local")
    assert not _signed_in(client)


def test_forged_session_cookie_is_ignored(client: Client) -> None:
    client.cookies.set("session", "x" * 43, domain="testserver.local")
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303


def test_sign_in_fails_closed_without_redis_but_pages_still_render(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    auth = auth_of(client)
    auth.sessions.redis = create_redis(UNREACHABLE_REDIS)
    assert _signed_in(client)  # the session comes from the database instead
    auth.ratelimit = RateLimitActor(create_redis(UNREACHABLE_REDIS))
    assert sign_in(client, "ada@example.com").status_code == 503


def test_session_cookie_is_httponly_and_samesite_lax(client: Client) -> None:
    verified_user(client, "ada@example.com")
    response = sign_in(client, "ada@example.com", follow_redirects=False)
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development over http; production is tested with its settings


def test_deleted_user_row_ends_its_sessions(client: Client) -> None:
    signed_in_user(client, "ada@example.com")

    async def delete_user() -> None:
        await Session.delete(force=True)
        await User.delete(force=True)

    run(client, delete_user)
    auth = auth_of(client)
    run(client, auth.sessions.invalidate_user, 1)
    # The cached session entry may outlive the row briefly; the user lookup refuses it.
    assert not _signed_in(client)


def test_session_lookups_are_served_from_the_cache(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert _signed_in(client)

    async def drop_rows_behind_the_cache() -> None:
        await Session.delete(force=True)

    run(client, drop_rows_behind_the_cache)
    sessions = auth_of(client).sessions
    # No database query: the cached session still answers (a real revoke also clears the cache).
    assert _signed_in(client)
    run(client, sessions.redis.flushdb)
    assert _signed_in(client)  # ... from this process's memory, which answers first
    sessions.local.clear()
    assert not _signed_in(client)


def test_a_revoke_in_another_process_reaches_this_one_over_pub_sub(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert _signed_in(client)
    local = auth_of(client).sessions.local
    token = session_cookie(client)
    assert token and local.live and local.get(hash_token(token)) is not None
    # Another worker: its own SessionStore (and memory) on the same Redis and database.
    other = SessionStore(auth_of(client).sessions.redis)
    generation = local.generation
    run(client, other.revoke_token, token)
    run(client, local.wait_for_generation, generation)
    assert local.get(hash_token(token)) is None
    assert not _signed_in(client)


def test_a_user_change_in_another_process_reaches_this_ones_memory(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert "Ada" in client.get("/account").text
    local = auth_of(client).sessions.local

    async def rename() -> None:
        await User.update({User.name: "Grace"}, force=True)

    run(client, rename)
    assert "Grace" not in client.get("/account").text  # both caches still hold the old name
    other = SessionStore(auth_of(client).sessions.redis)
    generation = local.generation
    run(client, other.invalidate_user, 1)
    run(client, local.wait_for_generation, generation)
    assert "Grace" in client.get("/account").text


def test_last_seen_is_recorded_every_few_minutes_without_extending(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    later = utc_now() + timedelta(minutes=10)
    auth_of(client).sessions.clock = lambda: later
    response = client.get("/account")
    assert "session=" not in response.headers.get("set-cookie", "")

    async def last_seen() -> object:
        return (await Session.select(Session.last_seen).first())["last_seen"]  # type: ignore[index]

    assert run(client, last_seen) == later


def test_session_survives_a_malformed_cookie_from_elsewhere(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    token = session_cookie(client)
    csrf = client.cookies["csrftoken"]
    client.cookies.clear()
    header = f'prefs={{"a": [1,2]}}; bad"cookie=x; session={token}; csrftoken={csrf}'
    assert client.get("/account", headers={"Cookie": header}, follow_redirects=False).status_code == 200
