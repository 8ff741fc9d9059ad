"""Device cookies: guessing from elsewhere cannot lock the owner out of a browser they signed in from."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import count

import pytest

from domain.auth.core import AuthLimits, Limit
from domain.auth.device_cookie import sign as sign_device
from domain.auth.device_cookie import signing_key
from settings import Settings
from tests.web.auth_support import (
    PASSWORD,
    Browser,
    Client,
    auth_of,
    fast_hashing,
    last_link,
    post_form,
    verified_user,
)

EMAIL = "ada@example.com"
NEW_PASSWORD = "a fresh password"
LIMIT = 5
_addresses = count(1)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    # The test client's peer is "testclient": trusting every proxy lets X-Forwarded-For pick the IP.
    settings = settings.with_overrides(trusted_proxies=("*",), auth_attempts_per_minute=LIMIT)
    if request.param == "postgres":
        return settings.with_overrides(database_url=request.getfixturevalue("postgres_url"))
    return settings


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)
    # A long window, so no attempt comes back while a test runs however slowly the machine is.
    auth_of(client).limits = AuthLimits(sign_in=Limit(LIMIT, 600), known_device=Limit(LIMIT, 600))


def fresh_ip() -> str:
    """An address no earlier attempt came from, so the per-IP limit never decides a test."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def attempt(client: Client, password: str, email: str = EMAIL) -> int:
    """One sign-in POST from a fresh IP with the cookies of the active browser; the status code."""
    response = post_form(
        client,
        "/auth/sign-in",
        {"email": email, "password": password},
        headers={"X-Forwarded-For": fresh_ip()},
        follow_redirects=False,
    )
    assert response.status_code in (303, 422, 429), response.text
    return response.status_code


def known_browser(client: Client, email: str = EMAIL, password: str = PASSWORD) -> Browser:
    """A browser that signed in (becoming a known device of the account) and signed out again."""
    browser = Browser(client)
    with browser.active() as active:
        assert attempt(active, password, email) == 303
        assert post_form(active, "/auth/sign-out", {}).status_code == 200
        assert active.cookies.get("device"), "sign-out keeps the device cookie"
    return browser


def lock_untrusted(client: Client, email: str = EMAIL) -> None:
    """Wrong passwords from rotating IPs, without a device cookie, until the account's allowance is spent."""
    statuses = [attempt(client, "wrong guess here", email) for _ in range(LIMIT + 1)]
    assert statuses[-1] == 429 and set(statuses) <= {422, 429}, statuses


def with_device_cookie(client: Client, value: str) -> Browser:
    browser = Browser(client)
    browser.cookies.set("device", value)
    return browser


def test_owner_on_a_known_device_signs_in_while_untrusted_attempts_are_refused(client: Client) -> None:
    verified_user(client, EMAIL)
    owner = known_browser(client)
    with Browser(client).active() as attacker:
        lock_untrusted(attacker)
    with Browser(client).active() as stranger:
        assert attempt(stranger, PASSWORD) == 429
    with owner.active() as active:
        assert attempt(active, PASSWORD) == 303
        assert active.get("/account", follow_redirects=False).status_code == 200


def test_device_cookie_is_long_lived_http_only_and_same_site(client: Client) -> None:
    verified_user(client, EMAIL)
    with Browser(client).active() as browser:
        response = post_form(
            browser, "/auth/sign-in", {"email": EMAIL, "password": PASSWORD}, follow_redirects=False
        )
        cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("device="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Max-Age=31536000" in cookie


def _other_account(client: Client) -> str:
    verified_user(client, "bob@example.com", name="Bob")
    return str(known_browser(client, "bob@example.com").cookies.get("device"))


def _tampered_generation(client: Client) -> str:
    user, generation, *rest = str(known_browser(client).cookies.get("device")).split(".")
    return ".".join([user, str(int(generation) + 1), *rest])


def _tampered_signature(client: Client) -> str:
    value = str(known_browser(client).cookies.get("device"))
    return value[:-2] + ("AA" if not value.endswith("AA") else "BB")


def _forged_with_another_key(client: Client) -> str:
    user_id = str(known_browser(client).cookies.get("device")).split(".")[0]
    key = signing_key("not the app's secret, but long enough to look like one")
    return sign_device(
        key, user_id=int(user_id), generation=0, expires=int(time.time()) + 3600, nonce="n" * 22
    )


@pytest.mark.parametrize(
    "bad_cookie",
    [
        _other_account,
        _tampered_generation,
        _tampered_signature,
        _forged_with_another_key,
        lambda _client: "1.0.99999999999.nonce",
        lambda _client: "9" * 19 + ".0." + "9" * 19 + ".n.sig",
        lambda _client: "x" * 4000,
    ],
    ids=[
        "other-account",
        "tampered-generation",
        "tampered-signature",
        "forged",
        "short",
        "huge-numbers",
        "long",
    ],
)
def test_invalid_device_cookie_counts_as_untrusted(
    client: Client, bad_cookie: Callable[[Client], str]
) -> None:
    verified_user(client, EMAIL)
    value = bad_cookie(client)
    with Browser(client).active() as attacker:
        lock_untrusted(attacker)
    with with_device_cookie(client, value).active() as browser:
        assert attempt(browser, PASSWORD) == 429


def test_known_device_has_its_own_limited_allowance(client: Client) -> None:
    verified_user(client, EMAIL)
    laptop, phone = known_browser(client), known_browser(client)
    with laptop.active() as active:
        statuses = [attempt(active, "wrong guess here") for _ in range(LIMIT + 1)]
        assert statuses == [422] * LIMIT + [429]
        # Locked out: the right password does not get through this cookie either.
        assert attempt(active, PASSWORD) == 429
    # The lock holds that cookie alone: the other device and untrusted browsers keep their allowance.
    with phone.active() as active:
        assert attempt(active, PASSWORD) == 303
    with Browser(client).active() as stranger:
        assert attempt(stranger, PASSWORD) == 303


def _change_password(client: Client) -> str:
    response = post_form(
        client, "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200 and "Password changed." in response.text
    return NEW_PASSWORD


def _sign_out_everywhere(client: Client) -> str:
    assert post_form(client, "/account/sessions/revoke-others", {}).status_code == 200
    return PASSWORD


def _reset_password(client: Client) -> str:
    assert post_form(client, "/auth/forgot-password", {"email": EMAIL}).status_code == 200
    token = last_link(client, EMAIL).split("token=", 1)[1]
    response = post_form(client, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200
    return NEW_PASSWORD


@pytest.mark.parametrize(
    "forget",
    [_change_password, _sign_out_everywhere, _reset_password],
    ids=["password-change", "sign-out-everywhere", "reset"],
)
def test_credential_change_and_sign_out_everywhere_forget_known_devices(
    client: Client, forget: Callable[[Client], str]
) -> None:
    verified_user(client, EMAIL)
    old = known_browser(client)
    with Browser(client).active() as account_page:
        assert attempt(account_page, PASSWORD) == 303
        password = forget(account_page)
    # A browser that signs in after the change is a known device again.
    new = known_browser(client, password=password)
    with Browser(client).active() as attacker:
        lock_untrusted(attacker)
    with old.active() as active:
        assert attempt(active, password) == 429
    with new.active() as active:
        assert attempt(active, password) == 303
