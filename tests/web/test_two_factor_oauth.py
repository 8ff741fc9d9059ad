"""A provider sign-in is a first factor like a password: with two-factor on, it asks for the code too."""

from __future__ import annotations

import pytest

from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.auth_support import Client, post_form, session_cookie
from tests.web.oauth_support import callback, consent, oauth_server, provider, provider_settings, sign_in_with
from tests.web.two_factor_support import enrolled_and_signed_out, password_step, set_cookies

__all__ = ["oauth_server", "provider"]  # fixtures, imported for pytest


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return provider_settings(settings, provider)


def test_an_oauth_sign_in_holds_for_the_second_factor(client: Client, provider: OAuthProvider) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    assert (
        post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False).status_code == 303
    )
    provider.add_user("ada-gh", email="ada-elsewhere@example.com")
    started = post_form(client, "/account/oauth/github/link", {}, follow_redirects=False)
    assert started.status_code == 302, started.text
    assert callback(client, consent(started.headers["location"], "ada-gh")).status_code == 303
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    assert not session_cookie(client)

    held = sign_in_with(client, "github", "ada-gh")
    assert held.status_code == 303 and held.headers["location"].startswith("/auth/two-factor")
    names = [cookie.split("=", 1)[0] for cookie in set_cookies(held)]
    assert "signin_binding" in names and "session" not in names
    assert not session_cookie(client)
    assert client.get("/account", follow_redirects=False).status_code == 303

    done = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert done.status_code == 303
    assert session_cookie(client)
    assert client.get("/account").status_code == 200
