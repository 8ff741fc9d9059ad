"""Linking and unlinking providers on /account, over real HTTP against the local provider."""

from __future__ import annotations

from typing import Any

import pytest

from domain.auth.tables import Account
from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.auth_support import (
    HTMX,
    Browser,
    Client,
    csrf_token,
    fast_hashing,
    post_form,
    run,
    session_cookie,
    signed_in_user,
)
from tests.web.oauth_support import (
    callback,
    consent,
    oauth_server,
    provider,
    provider_settings,
    sign_in_with,
)

__all__ = ["oauth_server", "provider"]  # fixtures, imported for pytest


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return provider_settings(settings, provider)


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


@pytest.fixture
def ada(client: Client) -> Client:
    signed_in_user(client, "ada@example.com", name="Ada")
    return client


def providers_of(client: Client) -> list[str]:
    async def query() -> list[dict[str, Any]]:
        return await Account.select(Account.provider).order_by(Account.id)

    return [row["provider"] for row in run(client, query)]


def link(client: Client, name: str, login: str, decision: str = "allow") -> Any:
    """Press "Link" on /account, consent at the provider, come back."""
    started = post_form(client, f"/account/oauth/{name}/link", {}, follow_redirects=False)
    assert started.status_code == 302, started.text
    return callback(client, consent(started.headers["location"], login, decision))


def test_oauth_account_page_lists_providers(ada: Client) -> None:
    page = ada.get("/account")
    assert 'id="oauth_accounts"' in page.text
    assert "Link Google" in page.text and "Link GitHub" in page.text


def test_oauth_link_then_sign_in_with_it(ada: Client, provider: OAuthProvider) -> None:
    provider.add_user("ada-gh", email="someone-else@example.com")  # a different email is fine when linking
    response = link(ada, "github", "ada-gh")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "GitHub is now linked." in ada.get("/account").text
    assert providers_of(ada) == ["credentials", "github"]
    ada.cookies.clear()
    assert sign_in_with(ada, "github", "ada-gh").status_code == 303
    assert "ada@example.com" in ada.get("/account").text


def test_oauth_link_htmx_is_a_client_redirect(ada: Client) -> None:
    response = ada.post(
        "/account/oauth/google/link",
        headers={**HTMX, "x-csrftoken": csrf_token(ada)},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert response.headers["hx-redirect"].startswith("http://127.0.0.1:")


def test_oauth_link_needs_csrf_and_sign_in(client: Client) -> None:
    assert client.post("/account/oauth/github/link", follow_redirects=False).status_code == 403
    signed_out = post_form(client, "/account/oauth/github/link", {}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/auth/sign-in")


def test_oauth_link_identity_of_another_user_is_refused(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("shared", email="grace@example.com")
    assert sign_in_with(client, "google", "shared").status_code == 303  # Grace's account now
    client.cookies.clear()
    signed_in_user(client, "ada@example.com")
    response = link(client, "google", "shared")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "already linked to another user" in client.get("/account").text
    assert providers_of(client).count("google") == 1


def test_oauth_link_cancelled_returns_to_account(ada: Client, provider: OAuthProvider) -> None:
    provider.add_user("ada-gh", email="ada@example.com")
    response = link(ada, "github", "ada-gh", decision="deny")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "You cancelled signing in with GitHub." in ada.get("/account").text
    assert providers_of(ada) == ["credentials"]


def test_oauth_link_finished_by_someone_else_is_refused(ada: Client, provider: OAuthProvider) -> None:
    """A link flow belongs to the user who started it, even with the same browser binding."""
    provider.add_user("ada-gh", email="ada@example.com")
    started = post_form(ada, "/account/oauth/github/link", {}, follow_redirects=False)
    location = consent(started.headers["location"], "ada-gh")
    ada.cookies.delete("session")
    response = callback(ada, location)
    assert response.status_code == 400 and "Sign in again to link GitHub" in response.text
    assert providers_of(ada) == ["credentials"]


def test_oauth_unlink(ada: Client, provider: OAuthProvider) -> None:
    provider.add_user("ada-gh", email="ada@example.com")
    link(ada, "github", "ada-gh")
    response = post_form(ada, "/account/oauth/github/unlink", {}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="oauth_accounts"')
    assert "GitHub is no longer linked." in response.text
    assert providers_of(ada) == ["credentials"]


def test_oauth_unlink_last_sign_in_method_is_refused(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    sign_in_with(client, "google", "grace")
    response = post_form(client, "/account/oauth/google/unlink", {}, headers=HTMX)
    assert response.status_code == 409
    assert "only way to sign in" in response.text
    assert providers_of(client) == ["google"]
    # Without JavaScript: the whole account page, with the same message and status.
    page = post_form(client, "/account/oauth/google/unlink", {}, follow_redirects=False)
    assert page.status_code == 409 and 'id="account_profile"' in page.text and "only way" in page.text


def test_oauth_unlink_allowed_once_a_password_is_set(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    sign_in_with(client, "google", "grace")
    changed = post_form(client, "/account/password", {"new_password": "a brand new passphrase"}, headers=HTMX)
    assert changed.status_code == 200, changed.text
    response = post_form(client, "/account/oauth/google/unlink", {}, headers=HTMX)
    assert response.status_code == 200 and providers_of(client) == ["credentials"]


def test_oauth_unlink_of_unlinked_provider(ada: Client) -> None:
    response = post_form(ada, "/account/oauth/github/unlink", {}, headers=HTMX)
    assert response.status_code == 404 and "not linked" in response.text


def test_oauth_sign_in_with_linked_provider_from_second_browser(ada: Client, provider: OAuthProvider) -> None:
    provider.add_user("ada-gh", email="ada@example.com")
    link(ada, "github", "ada-gh")
    laptop = Browser(ada)
    with laptop.active():
        assert sign_in_with(ada, "github", "ada-gh").status_code == 303
        assert session_cookie(ada)
    assert "Sign out everywhere else" in ada.get("/account").text  # two sessions now
