"""Auth security over HTTP: CSRF, single-use and expiring tokens, enumeration, rate limits, hashes, logs."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import timedelta

import pytest
from litestar.middleware.csrf import generate_csrf_token

from domain.auth import flows
from domain.auth.clock import utc_now
from domain.auth.core import AuthLimits, Limit
from domain.auth.passwords import HashParams, PasswordHasher
from domain.auth.tables import Account, Session, Verification
from domain.errors import RateLimited, ValidationFailed
from tests.web.auth_support import (
    HTMX,
    PASSWORD,
    Browser,
    Client,
    auth_of,
    fast_hashing,
    last_link,
    post_form,
    run,
    session_cookie,
    sign_in,
    sign_up,
    signed_in_user,
    verified_user,
)


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def _signed_in(client: Client) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def test_post_without_csrf_token_is_refused(client: Client) -> None:
    verified_user(client, "ada@example.com")
    client.get("/auth/sign-in")
    missing = client.post("/auth/sign-in", data={"email": "ada@example.com", "password": PASSWORD})
    assert missing.status_code == 403
    forged = client.post(
        "/auth/sign-in", data={"email": "ada@example.com", "password": PASSWORD, "_csrf_token": "0" * 64}
    )
    assert forged.status_code == 403 and not session_cookie(client)


def test_sign_out_without_csrf_token_keeps_the_session(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert client.post("/auth/sign-out").status_code == 403
    assert _signed_in(client)


def test_verification_link_works_once(client: Client) -> None:
    sign_up(client, "ada@example.com")
    link = last_link(client, "ada@example.com")
    assert client.get(link).status_code == 200
    again = client.get(link)
    assert again.status_code == 400 and "invalid or has expired" in again.text


def test_expired_verification_link_is_refused(client: Client) -> None:
    sign_up(client, "ada@example.com")

    async def expire() -> None:
        await Verification.update({Verification.expires_at: utc_now() - timedelta(seconds=1)}, force=True)

    run(client, expire)
    assert client.get(last_link(client, "ada@example.com")).status_code == 400
    assert sign_in(client, "ada@example.com").status_code == 403


def test_reset_link_works_once_and_expires(client: Client) -> None:
    verified_user(client, "ada@example.com")
    post_form(client, "/auth/forgot-password", {"email": "ada@example.com"})
    link = last_link(client, "ada@example.com")
    token = link.split("token=", 1)[1]
    assert (
        post_form(
            client, "/auth/reset-password", {"token": token, "password": "first new secret"}
        ).status_code
        == 200
    )
    assert client.get(link).status_code == 400
    again = post_form(client, "/auth/reset-password", {"token": token, "password": "second new secret"})
    assert again.status_code == 422 and "invalid or has expired" in again.text

    post_form(client, "/auth/forgot-password", {"email": "ada@example.com"})
    fresh = last_link(client, "ada@example.com")
    auth = auth_of(client)
    auth.clock = lambda: utc_now() + timedelta(hours=1, seconds=5)
    assert client.get(fresh).status_code == 400


def test_stored_tokens_are_hashes(client: Client) -> None:
    sign_up(client, "ada@example.com")
    verify_token = last_link(client, "ada@example.com").split("token=", 1)[1]

    async def verification_hashes() -> list[str]:
        return [r["token_hash"] for r in await Verification.select(Verification.token_hash)]

    assert run(client, verification_hashes) == [hashlib.sha256(verify_token.encode()).hexdigest()]
    client.get(last_link(client, "ada@example.com"))
    sign_in(client, "ada@example.com")
    token = session_cookie(client)
    assert token

    async def session_rows() -> list[dict[str, object]]:
        return await Session.select()

    rows = run(client, session_rows)
    assert [r["token_hash"] for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in repr(rows)

    async def password_hash() -> str:
        return (await Account.select(Account.password_hash).first())["password_hash"]  # type: ignore[index,no-any-return]

    stored = run(client, password_hash)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def _normalize(text: str, *emails: str) -> str:
    text = re.sub(r'name="_csrf_token" value="[^"]*"', "", text)
    text = re.sub(r'"x-csrftoken": "[^"]*"', "", text)
    text = re.sub(r'data-request-id="[^"]*"', "", text)
    for email in emails:
        text = text.replace(email, "EMAIL").replace(email.replace("@", "%40"), "EMAIL")
    return text


def test_sign_in_answers_unknown_and_known_emails_identically(client: Client) -> None:
    auth_of(client).limits = AuthLimits(sign_in=Limit(100, 60))
    verified_user(client, "ada@example.com")
    known = sign_in(client, "ada@example.com", "not the password")
    unknown = sign_in(client, "nobody@example.com", "not the password")
    assert known.status_code == unknown.status_code == 422
    assert _normalize(known.text, "ada@example.com") == _normalize(unknown.text, "nobody@example.com")

    def timed(email: str) -> float:
        start = time.perf_counter()
        sign_in(client, email, "not the password")
        return time.perf_counter() - start

    known_s = min(timed("ada@example.com") for _ in range(3))
    unknown_s = min(timed("nobody@example.com") for _ in range(3))
    # The unknown email is checked against a dummy hash, so it costs a real verification too.
    assert unknown_s > known_s * 0.5


def test_forgot_password_answers_unknown_and_known_emails_identically(client: Client) -> None:
    verified_user(client, "ada@example.com")
    known = post_form(client, "/auth/forgot-password", {"email": "ada@example.com"})
    unknown = post_form(client, "/auth/forgot-password", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert _normalize(known.text) == _normalize(unknown.text)


def test_sign_up_answers_taken_and_new_emails_identically(client: Client) -> None:
    verified_user(client, "ada@example.com")
    taken = sign_up(client, "ada@example.com", headers=HTMX)
    new = sign_up(client, "new@example.com", headers=HTMX)
    assert taken.status_code == new.status_code == 200
    assert _normalize(taken.text, "ada@example.com") == _normalize(new.text, "new@example.com")


def test_sign_in_rate_limit_returns_429_then_recovers(client: Client) -> None:
    verified_user(client, "ada@example.com")
    # A window longer than three slow sign-ins on a loaded machine: the third is always inside it.
    auth_of(client).limits = AuthLimits(sign_in=Limit(2, 4))
    assert sign_in(client, "ada@example.com", "wrong one here").status_code == 422
    assert sign_in(client, "ada@example.com", "wrong one here").status_code == 422
    limited = sign_in(client, "ada@example.com")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text and "<html" in limited.text
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after >= 1
    htmx = sign_in(client, "ada@example.com", headers=HTMX)
    assert htmx.status_code == 429 and htmx.text.lstrip().startswith('<section id="auth_sign_in"')
    # Waiting out the advertised Retry-After is the behaviour under test, not a synchronisation.
    time.sleep(retry_after)
    assert sign_in(client, "ada@example.com").status_code == 200


def test_sign_in_is_limited_per_email_across_addresses(client: Client) -> None:
    verified_user(client, "ada@example.com")
    auth = auth_of(client)

    async def attempt(ip: str) -> str:
        try:
            await flows.sign_in(auth, email="ada@example.com", password="wrong one", ip=ip, user_agent="t")
        except RateLimited:
            return "limited"
        except ValidationFailed:
            return "refused"
        return "ok"

    results = [run(client, attempt, f"10.0.0.{i}") for i in range(6)]
    assert results == ["refused"] * 5 + ["limited"]


def test_reset_and_sign_up_are_rate_limited(client: Client) -> None:
    auth_of(client).limits = AuthLimits(reset=Limit(1, 60), sign_up=Limit(1, 600))
    assert post_form(client, "/auth/forgot-password", {"email": "a@example.com"}).status_code == 200
    limited = post_form(client, "/auth/forgot-password", {"email": "a@example.com"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert sign_up(client, "b@example.com").status_code == 200
    assert sign_up(client, "c@example.com").status_code == 429


def test_password_is_rehashed_when_parameters_change(client: Client) -> None:
    verified_user(client, "ada@example.com")
    auth_of(client).hasher = PasswordHasher(HashParams(time_cost=3, memory_cost_kib=32768, parallelism=2))
    assert sign_in(client, "ada@example.com").status_code == 200

    async def password_hash() -> str:
        return (await Account.select(Account.password_hash).first())["password_hash"]  # type: ignore[index,no-any-return]

    assert "m=32768,t=3,p=2" in run(client, password_hash)


def test_names_are_escaped_everywhere(client: Client) -> None:
    signed_in_user(client, "ada@example.com", name='<script>alert(1)</script>"><img src=x onerror=alert(1)>')
    for path in ("/", "/account"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_auth_events_are_logged_without_secrets(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    verified_user(client, "ada@example.com")
    sign_in(client, "ada@example.com", "a wrong password")
    sign_in(client, "ada@example.com")
    lines = [r.getMessage() for r in caplog.records if r.name == "remote_stack.auth"]
    assert any(line.startswith("auth.event=sign_in.failure ") for line in lines)
    assert any(line.startswith("auth.event=sign_in.success user_id=") for line in lines)
    text = "\n".join(lines)
    assert PASSWORD not in text and "a wrong password" not in text and "ada@example.com" not in text
    assert (session_cookie(client) or "?") not in text


def test_oversized_form_is_refused(client: Client) -> None:
    response = post_form(client, "/auth/sign-in", {"email": "a@example.com", "password": "x" * 20_000})
    assert response.status_code == 413


def test_csrf_token_from_another_session_or_none_is_refused(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    assert _signed_in(client)
    # Well-formed and signed with the app's secret, as a token planted before sign-in would be.
    foreign = generate_csrf_token(secret=client.app.csrf_config.secret)  # type: ignore[union-attr,unused-ignore]
    client.cookies.set("csrftoken", foreign, domain="testserver.local")
    response = client.post("/account/profile", data={"name": "Mallory", "_csrf_token": foreign})
    assert response.status_code == 403
    assert "Mallory" not in client.get("/").text


def test_signed_in_post_must_submit_its_sessions_own_token(client: Client) -> None:
    """The session's cookie alone is not enough: the form or header must carry that same token."""
    signed_in_user(client, "ada@example.com")
    client.get("/account")
    bound = client.cookies["csrftoken"]
    # Well-formed and signed with the app's secret, but not this session's.
    other = generate_csrf_token(secret=client.app.csrf_config.secret)  # type: ignore[union-attr,unused-ignore]
    refused = [
        client.post("/account/profile", data={"name": "Mallory", "_csrf_token": other}),
        client.post("/account/profile", data={"name": "Mallory"}, headers={"x-csrftoken": other}),
        client.post("/account/profile", data={"name": "Mallory", "_csrf_token": bound[:-1]}),
        client.post("/account/profile", data={"name": "Mallory"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert "Mallory" not in client.get("/account").text
    by_header = client.post("/account/profile", data={"name": "Ada H"}, headers={"x-csrftoken": bound})
    assert by_header.status_code == 200
    by_form = client.post("/account/profile", data={"name": "Ada F", "_csrf_token": bound})
    assert by_form.status_code == 200
    assert "Ada F" in client.get("/account").text


def test_openapi_console_sends_the_csrf_token_with_its_requests(client: Client) -> None:
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    # Its request interceptor (in a script file: the CSP allows no inline script) copies the cookie.
    scripts = [client.get(src).text for src in re.findall(r'<script src="([^"]+)"', page.text)]
    assert any("x-csrftoken" in script.lower() and "csrftoken=" in script for script in scripts)


def test_page_load_reissues_the_sessions_csrf_token(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    foreign = generate_csrf_token(secret=client.app.csrf_config.secret)  # type: ignore[union-attr,unused-ignore]
    client.cookies.set("csrftoken", foreign, domain="testserver.local")
    page = client.get("/account")
    bound = client.cookies["csrftoken"]
    assert f'value="{bound}"' in page.text
    assert post_form(client, "/account/profile", {"name": "Ada B", "avatar": ""}).status_code == 200
    other = Browser(client)
    with other.active() as browser:
        sign_in(browser, "ada@example.com")
        browser.get("/account")
        assert browser.cookies["csrftoken"] != bound
