"""The admin panel at /admin: one identity with the app, admins only, no hashes, demotions count at once."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from litestar.testing import TestClient

from bench.common import http_scope
from domain.admin.records import (
    HIDDEN_COLUMNS,
    AccountRecord,
    InvitationRecord,
    MembershipRecord,
    OrganizationRecord,
    PasskeyRecord,
    SessionRecord,
    TwoFactorRecord,
    UserRecord,
    VerificationRecord,
)
from domain.admin.tables import AdminMirror, AdminSession
from domain.auth.clock import utc_now
from domain.auth.flows import start_session
from domain.auth.tables import Account, Passkey, Session, TwoFactor, User, Verification
from domain.orgs.tables import Invitation, Membership, Organization
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.web.admin_support import ADMIN_EMAIL, demote, promote, signed_in_admin, signed_in_member
from tests.web.auth_support import (
    PASSWORD,
    Browser,
    Client,
    auth_of,
    last_link,
    post_form,
    run,
    sign_in,
    sign_up,
    user_id,
)

API_HEADERS = {"Accept": "application/json, text/plain, */*"}


def piccolo_headers(client: Client) -> dict[str, str]:
    """What piccolo-admin's page sends with a write: the csrftoken cookie echoed in X-CSRFToken."""
    token = client.cookies.get("csrftoken")
    assert token
    return {**API_HEADERS, "X-CSRFToken": token}


def mirror_rows(client: Client) -> tuple[int, int]:
    async def counts() -> tuple[int, int]:
        return await AdminMirror.count(), await AdminSession.count()

    return run(client, counts)


def test_admin_bare_path_redirects_to_slash(client: Client) -> None:
    response = client.get("/admin?x=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/admin/?x=1"


def test_admin_signed_out_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/admin/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?next=/admin/"


def test_admin_api_signed_out_is_401(client: Client) -> None:
    response = client.get("/admin/api/tables/", headers=API_HEADERS)
    assert response.status_code == 401
    assert response.json()["sign_in"] == "/auth/sign-in"


def test_admin_reaches_panel_and_api_with_the_app_session(client: Client) -> None:
    signed_in_admin(client)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "./assets/" in page.text
    assert client.get("/admin/assets/" + page.text.split("./assets/")[1].split('"')[0]).status_code == 200
    tables = client.get("/admin/api/tables/", headers=API_HEADERS)
    assert tables.status_code == 200
    assert tables.json() == [
        "accounts",
        "invitations",
        "memberships",
        "organizations",
        "passkeys",
        "sessions",
        "two_factor",
        "users",
        "verifications",
    ]
    me = client.get("/admin/api/user/", headers=API_HEADERS).json()
    assert ADMIN_EMAIL in me["username"]
    rows = client.get("/admin/api/tables/users/", headers=API_HEADERS).json()["rows"]
    assert [row["email"] for row in rows] == [ADMIN_EMAIL]
    # The piccolo-admin session lives server-side only: the browser never gets its cookie.
    assert "id" not in client.cookies
    assert mirror_rows(client) == (1, 1)


def test_admin_non_admin_gets_403(client: Client) -> None:
    signed_in_member(client)
    page = client.get("/admin/", follow_redirects=False)
    assert page.status_code == 403
    assert "administrators" in page.text
    api = client.get("/admin/api/tables/users/", headers=API_HEADERS)
    assert api.status_code == 403
    assert mirror_rows(client) == (0, 0)


def test_admin_promoted_user_gets_in_on_the_next_request(client: Client) -> None:
    signed_in_member(client)
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 403
    promote(client, "ada@example.com")
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200


def test_admin_demoted_admin_loses_access_on_the_next_request(client: Client) -> None:
    signed_in_admin(client)
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200
    demote(client)
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 403
    assert client.get("/admin/", follow_redirects=False).status_code == 403
    assert mirror_rows(client) == (0, 0)


def test_admin_demoted_from_the_panel_loses_access_on_the_next_request(client: Client) -> None:
    signed_in_admin(client)
    other = Browser(client)
    with other.active() as browser:
        signed_in_admin(browser, "second@example.com")
        assert browser.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200
    second = user_id(client, "second@example.com")
    client.get("/admin/")
    response = client.patch(
        f"/admin/api/tables/users/{second}/", json={"is_admin": False}, headers=piccolo_headers(client)
    )
    assert response.status_code == 200, response.text
    with other.active() as browser:
        assert browser.get("/admin/api/tables/", headers=API_HEADERS).status_code == 403
        # The app's own view of the user (cached for sessions) was refreshed as well.
        assert browser.get("/admin-tools/actors", follow_redirects=False).status_code == 403


def test_a_user_renamed_in_the_panel_sees_the_new_name_on_the_next_request(client: Client) -> None:
    signed_in_admin(client)
    other = Browser(client)
    with other.active() as browser:
        signed_in_admin(browser, "second@example.com")
        assert "Renamed" not in browser.get("/account").text  # their user is now cached
    second = user_id(client, "second@example.com")
    client.get("/admin/")
    response = client.patch(
        f"/admin/api/tables/users/{second}/", json={"name": "Renamed"}, headers=piccolo_headers(client)
    )
    assert response.status_code == 200, response.text
    with other.active() as browser:
        assert "Renamed" in browser.get("/account").text


def test_admin_writes_need_piccolo_csrf_header(client: Client) -> None:
    signed_in_admin(client)
    me = user_id(client, ADMIN_EMAIL)
    response = client.patch(f"/admin/api/tables/users/{me}/", json={"name": "X"}, headers=API_HEADERS)
    assert response.status_code == 403
    assert "CSRF" in response.text


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (UserRecord, User),
        (SessionRecord, Session),
        (AccountRecord, Account),
        (VerificationRecord, Verification),
        (PasskeyRecord, Passkey),
        (TwoFactorRecord, TwoFactor),
        (OrganizationRecord, Organization),
        (MembershipRecord, Membership),
        (InvitationRecord, Invitation),
    ],
)
def test_admin_records_leave_out_exactly_the_secret_columns(record: Any, table: Any) -> None:
    shown = {c._meta.name for c in record._meta.columns}
    real = {c._meta.name for c in table._meta.columns}
    assert record._meta.tablename == table._meta.tablename
    assert shown | HIDDEN_COLUMNS[table._meta.tablename] == real
    assert not shown & HIDDEN_COLUMNS[table._meta.tablename]


def test_admin_never_shows_hashes_or_tokens(client: Client) -> None:
    signed_in_admin(client)
    sign_up(client, "pending@example.com")  # leaves a verification row
    for table in ("users", "sessions", "accounts", "verifications"):
        rows = client.get(f"/admin/api/tables/{table}/", headers=API_HEADERS)
        schema = client.get(f"/admin/api/tables/{table}/schema/", headers=API_HEADERS)
        assert rows.status_code == schema.status_code == 200
        assert rows.json()["rows"], table
        for text in (rows.text, schema.text):
            for secret in (
                "password_hash",
                "token_hash",
                'access_token"',
                "refresh_token",
                "id_token",
                "argon2",
            ):
                assert secret not in text, (table, secret)


def test_admin_cannot_write_hash_columns(client: Client) -> None:
    signed_in_admin(client)
    client.get("/admin/")
    account = client.get("/admin/api/tables/accounts/", headers=API_HEADERS).json()["rows"][0]
    response = client.patch(
        f"/admin/api/tables/accounts/{account['id']}/",
        json={"password_hash": "x"},
        headers=piccolo_headers(client),
    )
    assert response.status_code == 405

    async def stored_hash() -> str:
        row = await Account.select(Account.password_hash).where(Account.id == account["id"]).first()
        assert row is not None
        return str(row["password_hash"])

    assert run(client, stored_hash).startswith("$argon2id$")


def test_admin_searches_users_by_email(client: Client) -> None:
    signed_in_admin(client)
    sign_up(client, "grace@example.com", "Grace")
    sign_up(client, "linus@example.org", "Linus")
    rows = client.get("/admin/api/tables/users/?email=example.org", headers=API_HEADERS).json()["rows"]
    assert [row["email"] for row in rows] == ["linus@example.org"]


def test_admin_deleting_a_session_signs_that_browser_out(client: Client) -> None:
    signed_in_admin(client)
    other = Browser(client)
    with other.active() as browser:
        signed_in_member(browser)
        assert browser.get("/account", follow_redirects=False).status_code == 200
    member = user_id(client, "ada@example.com")
    client.get("/admin/")
    rows = client.get(f"/admin/api/tables/sessions/?user={member}", headers=API_HEADERS).json()["rows"]
    assert len(rows) == 1
    response = client.delete(f"/admin/api/tables/sessions/{rows[0]['id']}/", headers=piccolo_headers(client))
    assert response.status_code == 204
    with other.active() as browser:
        assert browser.get("/account", follow_redirects=False).status_code == 303


def test_admin_refuses_piccolo_login_and_password_change(client: Client) -> None:
    assert client.post("/admin/public/login/", json={"username": "x", "password": "y"}).status_code == 401
    signed_in_admin(client)
    client.get("/admin/")
    headers = piccolo_headers(client)
    login = client.post("/admin/public/login/", json={"username": "x", "password": "y"}, headers=headers)
    assert login.status_code == 403
    change = client.post("/admin/api/change-password/", json={}, headers=headers)
    assert change.status_code == 403
    assert "/account" in change.json()["error"]


def test_admin_forged_piccolo_cookie_is_ignored(client: Client) -> None:
    signed_in_admin(client)
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200

    async def admin_token() -> str:
        row = await AdminSession.select(AdminSession.token).first()
        assert row is not None
        return str(row["token"])

    stolen = run(client, admin_token)
    other = Browser(client)
    with other.active() as browser:
        browser.cookies.set("id", stolen, domain="testserver.local")
        assert browser.get("/admin/api/tables/", headers=API_HEADERS).status_code == 401
        signed_in_member(browser)
        browser.cookies.set("id", stolen, domain="testserver.local")
        assert browser.get("/admin/api/tables/", headers=API_HEADERS).status_code == 403


def test_admin_logout_signs_out_of_the_app(client: Client) -> None:
    signed_in_admin(client)
    client.get("/admin/")
    response = client.post("/admin/public/logout/", headers=piccolo_headers(client))
    assert response.status_code == 200
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_admin_mount_does_not_swallow_lookalike_paths(client: Client) -> None:
    signed_in_admin(client)
    assert client.get("/adminx", follow_redirects=False).status_code == 404
    assert client.get("/admin.php", follow_redirects=False).status_code == 404


def test_admin_bridge_on_postgres(settings: Settings, postgres_url: str) -> None:
    from app import create_app

    with TestClient(
        app=create_app(settings.with_overrides(database_url=postgres_url)), base_url=TEST_BASE_URL
    ) as client:
        signed_in_admin(client)
        assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200
        assert (
            client.get("/admin/api/tables/users/", headers=API_HEADERS).json()["rows"][0]["email"]
            == ADMIN_EMAIL
        )
        assert mirror_rows(client) == (1, 1)
        demote(client)
        assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 403
        assert mirror_rows(client) == (0, 0)


def test_admin_responses_carry_the_admin_security_headers(client: Client) -> None:
    """piccolo-admin injects styles: its pages get the admin CSP, not the app's stricter one."""
    signed_in_admin(client)
    for path in ("/admin/", "/admin/api/tables/"):
        headers = client.get(path, headers=API_HEADERS).headers
        policy = headers["content-security-policy-report-only"]
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert headers["x-frame-options"] == "SAMEORIGIN"
    assert "unsafe-inline" not in client.get("/account").headers["content-security-policy-report-only"]


def test_admin_without_any_password_gets_in_through_an_oauth_style_session(client: Client) -> None:
    """An admin who only signs in with a provider: the session alone admits them, no password anywhere."""

    async def oauth_admin() -> str:
        now = utc_now()
        rows = await User.insert(
            User(
                email="octo@example.com",
                name="Octo",
                email_verified=True,
                is_admin=True,
                created_at=now,
                updated_at=now,
            )
        ).returning(User.id)
        await Account.insert(
            Account(
                user=rows[0]["id"],
                provider="github",
                provider_account_id="42",
                created_at=now,
                updated_at=now,
            )
        )
        signed = await start_session(
            auth_of(client), rows[0]["id"], ip="127.0.0.1", user_agent="test", method="github"
        )
        return signed.token

    client.cookies.set("session", run(client, oauth_admin), domain="testserver.local")
    assert client.get("/admin/api/tables/", headers=API_HEADERS).status_code == 200
    assert "octo@example.com" in client.get("/admin/api/user/", headers=API_HEADERS).json()["username"]


def test_admin_stores_emails_lowercased_like_sign_up(client: Client) -> None:
    signed_in_admin(client)
    client.get("/admin/")
    now = "2026-01-01T00:00:00Z"
    created = client.post(
        "/admin/api/tables/users/",
        json={
            "email": "New@Example.COM",
            "name": "New",
            "email_verified": False,
            "is_admin": False,
            "created_at": now,
            "updated_at": now,
        },
        headers=piccolo_headers(client),
    )
    assert created.status_code == 201, created.text
    new = user_id(client, "new@example.com")
    patched = client.patch(
        f"/admin/api/tables/users/{new}/",
        json={"email": "Renamed@Example.com"},
        headers=piccolo_headers(client),
    )
    assert patched.status_code == 200, patched.text
    assert user_id(client, "renamed@example.com") == new


def test_admin_deleting_a_user_removes_sessions_accounts_and_links_and_logs_it(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    signed_in_admin(client)
    other = Browser(client)
    with other.active() as browser:
        signed_in_member(browser)
        assert post_form(browser, "/auth/forgot-password", {"email": "ada@example.com"}).status_code == 200
        reset = last_link(browser, "ada@example.com")
    member = user_id(client, "ada@example.com")
    admin = user_id(client, ADMIN_EMAIL)
    client.get("/admin/")
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        response = client.delete(f"/admin/api/tables/users/{member}/", headers=piccolo_headers(client))
    assert response.status_code == 204

    async def left() -> tuple[int, int, int, int]:
        return (
            await User.count().where(User.id == member),
            await Session.count().where(Session.user == member),
            await Account.count().where(Account.user == member),
            await Verification.count().where(Verification.user == member),
        )

    assert run(client, left) == (0, 0, 0, 0)
    assert f"auth.event=admin.user_deleted user_id={member} by={admin}" in caplog.text
    with other.active() as browser:
        assert browser.get("/account", follow_redirects=False).status_code == 303
        assert browser.get(reset).status_code == 400


def test_admin_created_user_starts_unconfirmed_not_admin_and_without_a_password(client: Client) -> None:
    signed_in_admin(client)
    client.get("/admin/")
    response = client.post(
        "/admin/api/tables/users/",
        json={"email": " New@Example.com ", "name": "", "email_verified": True, "is_admin": True},
        headers=piccolo_headers(client),
    )
    assert response.status_code == 201, response.text
    new = user_id(client, "new@example.com")

    async def state() -> tuple[bool, bool, str, int]:
        row = await User.select(User.email_verified, User.is_admin, User.name).where(User.id == new).first()
        assert row is not None
        return (
            row["email_verified"],
            row["is_admin"],
            row["name"],
            await Account.count().where(Account.user == new),
        )

    assert run(client, state) == (False, False, "new", 0)
    bad = client.post(
        "/admin/api/tables/users/",
        json={"email": "not an email", "name": "X"},
        headers=piccolo_headers(client),
    )
    assert bad.status_code == 422
    # They get in by choosing a password from a reset link, which also proves the address.
    newcomer = Browser(client)
    with newcomer.active() as browser:
        assert sign_in(browser, "new@example.com").status_code == 422
        post_form(browser, "/auth/forgot-password", {"email": "new@example.com"})
        token = last_link(browser, "new@example.com").split("token=", 1)[1]
        assert (
            post_form(browser, "/auth/reset-password", {"token": token, "password": PASSWORD}).status_code
            == 200
        )
        assert sign_in(browser, "new@example.com").status_code == 200
    assert run(client, state)[:2] == (True, False)


def test_admin_rename_leaves_the_cache_before_the_answer_does(client: Client) -> None:
    """Whoever the admin's answer reaches first, the renamed user's next request already reloads them."""
    signed_in_admin(client)
    other = Browser(client)
    with other.active() as browser:
        signed_in_admin(browser, "second@example.com")
        assert browser.get("/account").status_code == 200  # their user is now cached
    second = user_id(client, "second@example.com")
    client.get("/admin/")
    auth = auth_of(client)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = [
        (b"cookie", cookie.encode()),
        (b"x-csrftoken", piccolo_headers(client)["X-CSRFToken"].encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
    ]
    body = json.dumps({"name": "Renamed"}).encode()
    seen: list[tuple[int, str | None]] = []

    async def patch() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # The moment the admin's browser could act on the answer: what would a request see?
                cached = await auth.sessions.user(second)
                seen.append((message["status"], cached.name if cached else None))

        scope = http_scope("PATCH", f"/admin/api/tables/users/{second}/", headers, host=b"testserver.local")
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    run(client, patch)
    assert seen == [(200, "Renamed")]
