"""Pre-account hijacking: whoever proves the mailbox owns the account, with no one else's password or name."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from domain.auth.tables import Account, User
from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.auth_support import (
    LINK,
    PASSWORD,
    Browser,
    Client,
    fast_hashing,
    last_link,
    mails_to,
    post_form,
    run,
    session_cookie,
    sign_in,
    sign_up,
)
from tests.web.oauth_support import oauth_server, provider, provider_settings, sign_in_with

__all__ = ["oauth_server", "provider"]  # fixtures, imported for pytest

VICTIM = "victim@example.com"
ATTACKER_PASSWORD = "squatter picked this"


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return provider_settings(settings, provider)


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def links_to(client: Client, email: str) -> list[str]:
    """The path of every link mailed to `email`, oldest first."""
    found = []
    for mail in mails_to(client, email):
        match = LINK.search(mail.text)
        if match and "token=" in match.group(0):
            parts = urlsplit(match.group(0))
            found.append(f"{parts.path}?{parts.query}")
    return found


def name_and_methods(client: Client) -> tuple[str, list[str]]:
    async def query() -> tuple[str, list[str]]:
        user = await User.select(User.id, User.name).where(User.email == VICTIM).first()
        assert user is not None
        rows = await Account.select(Account.provider).where(Account.user == user["id"])
        return str(user["name"]), sorted(r["provider"] for r in rows)

    return run(client, query)


def attacker_cannot_sign_in(attacker: Browser) -> None:
    with attacker.active() as browser:
        response = sign_in(browser, VICTIM, ATTACKER_PASSWORD)
        assert response.status_code in (403, 422) and not session_cookie(browser)
        assert browser.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("attacker_signs_up", ["first", "last"])
def test_takeover_a_squatters_password_and_name_never_sign_in_after_the_owner_verifies(
    client: Client, attacker_signs_up: str
) -> None:
    """The attacker's mail lands in the victim's inbox too: following it must not hand them the account."""
    attacker, victim = Browser(client), Browser(client)

    def squat() -> None:
        with attacker.active() as browser:
            assert sign_up(browser, VICTIM, name="Mallory", password=ATTACKER_PASSWORD).status_code == 200

    def register() -> None:
        with victim.active() as browser:
            assert sign_up(browser, VICTIM, name="Victoria").status_code == 200

    if attacker_signs_up == "first":
        squat()
        register()
    else:
        register()
        squat()
    newest = links_to(client, VICTIM)[-1]
    with victim.active() as browser:
        opened = browser.get(newest)
        assert opened.status_code == 200
    # The property, checked the moment the owner has followed the newest link.
    attacker_cannot_sign_in(attacker)
    with victim.active() as browser:
        if attacker_signs_up == "first":
            # Their own link, in the browser that signed up: it signed them in, with their name.
            assert session_cookie(browser) and "Victoria" in browser.get("/account").text
        else:
            # The attacker's link asks for the password chosen with it, which the victim does not know.
            # (The attacker's sign-in attempt above re-sent it: a new link, the old one is dead.)
            assert not session_cookie(browser)
            assert browser.get(newest).status_code == 400
            newest = links_to(client, VICTIM)[-1]
            opened = browser.get(newest)
            assert f'value="{VICTIM}"' in opened.text and 'action="/auth/verify"' in opened.text
            token = newest.split("token=", 1)[1]
            wrong = post_form(browser, "/auth/verify", {"token": token, "password": PASSWORD})
            assert wrong.status_code == 422 and not session_cookie(browser)
            # The owner takes the account by resetting the password (the link proves the mailbox).
            assert post_form(browser, "/auth/forgot-password", {"email": VICTIM}).status_code == 200
            reset = last_link(browser, VICTIM).split("token=", 1)[1]
            done = post_form(browser, "/auth/reset-password", {"token": reset, "password": PASSWORD})
            assert done.status_code == 200
            assert browser.get(newest).status_code == 400  # the squatter's link died with the claim
            assert sign_in(browser, VICTIM).status_code == 200
    attacker_cannot_sign_in(attacker)
    name, methods = name_and_methods(client)
    assert methods == ["credentials"] and name != "Mallory"


def test_takeover_an_older_sign_up_link_never_applies_after_a_newer_sign_up(client: Client) -> None:
    attacker, victim = Browser(client), Browser(client)
    with attacker.active() as browser:
        sign_up(browser, VICTIM, name="Mallory", password=ATTACKER_PASSWORD)
    older = links_to(client, VICTIM)[-1]
    with victim.active() as browser:
        sign_up(browser, VICTIM, name="Victoria")
    with victim.active() as browser:
        assert browser.get(links_to(client, VICTIM)[-1]).status_code == 200
    attacker_cannot_sign_in(attacker)
    with attacker.active() as browser:
        # Even in the browser that signed up with it, the replaced link is dead.
        assert browser.get(older, follow_redirects=False).status_code == 400
        assert not session_cookie(browser)
    attacker_cannot_sign_in(attacker)
    assert name_and_methods(client) == ("Victoria", ["credentials"])


def test_takeover_a_squatters_oauth_identity_goes_when_the_owner_verifies(
    client: Client, provider: OAuthProvider
) -> None:
    """Both paths share the rule: an identity whose provider never verified the address is dropped."""
    provider.add_user("mallory", email=VICTIM, email_verified=False)
    attacker, victim = Browser(client), Browser(client)
    with attacker.active() as browser:
        assert sign_in_with(browser, "google", "mallory").status_code == 303
    with victim.active() as browser:
        sign_up(browser, VICTIM, name="Victoria")
        assert browser.get(last_link(browser, VICTIM)).status_code == 200
    with attacker.active() as browser:
        # The squatter's session ended, and their identity no longer signs in to the account.
        assert browser.get("/account", follow_redirects=False).status_code == 303
        browser.cookies.clear()
        assert sign_in_with(browser, "google", "mallory").status_code == 409
        assert not session_cookie(browser)
    assert name_and_methods(client) == ("Victoria", ["credentials"])


def test_sign_up_link_in_another_browser_asks_for_the_password_then_signs_in(client: Client) -> None:
    sign_up(client, "ada@example.com", name="Ada")
    link = last_link(client, "ada@example.com")
    phone = Browser(client)
    with phone.active() as browser:
        form = browser.get(link)
        assert form.status_code == 200 and 'value="ada@example.com"' in form.text
        token = link.split("token=", 1)[1]
        wrong = post_form(browser, "/auth/verify", {"token": token, "password": "not the password"})
        assert wrong.status_code == 422 and "password chosen" in wrong.text
        right = post_form(
            browser, "/auth/verify", {"token": token, "password": PASSWORD}, follow_redirects=False
        )
        assert right.status_code == 303 and right.headers["location"] == "/" and session_cookie(browser)
        assert "Ada" in browser.get("/account").text
        assert browser.get(link).status_code == 400  # used up


def test_takeover_a_link_without_a_password_proves_the_mailbox_then_asks_for_one(
    client: Client, provider: OAuthProvider
) -> None:
    """A squatter's account made through a provider that never verified the address, then a plain resend."""
    provider.add_user("mallory", email=VICTIM, email_verified=False)
    attacker, victim = Browser(client), Browser(client)
    with attacker.active() as browser:
        assert sign_in_with(browser, "google", "mallory").status_code == 303
    with victim.active() as browser:
        browser.get("/auth/sign-in")
        assert post_form(browser, "/auth/resend-verification", {"email": VICTIM}).status_code == 200
        chosen = browser.get(last_link(browser, VICTIM), follow_redirects=False)
        assert chosen.status_code == 303 and chosen.headers["location"].startswith(
            "/auth/reset-password?token="
        )
        token = chosen.headers["location"].split("token=", 1)[1]
        done = post_form(browser, "/auth/reset-password", {"token": token, "password": PASSWORD})
        assert done.status_code == 200
        assert sign_in(browser, VICTIM).status_code == 200
    assert name_and_methods(client) == ("victim", ["credentials"])
    with attacker.active() as browser:
        assert browser.get("/account", follow_redirects=False).status_code == 303
        browser.cookies.clear()
        assert sign_in_with(browser, "google", "mallory").status_code == 409


@pytest.mark.parametrize("token", ["", "x" * 5000, "é\u0000%ff", "a b"])
def test_verify_refuses_a_bad_token_with_400(client: Client, token: str) -> None:
    assert client.get("/auth/verify", params={"token": token}).status_code == 400
    for headers in ({}, {"HX-Request": "true"}):
        form = {"token": token, "password": "p" * 5000 + "é", "email": "\u0000"}
        assert post_form(client, "/auth/verify", form, headers=headers).status_code == 400
