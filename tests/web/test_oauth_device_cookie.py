"""An OAuth sign-in makes the browser a known device of the account, like a password sign-in."""

from __future__ import annotations

import pytest

from domain.auth import flows
from domain.errors import RateLimited, ValidationFailed
from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.auth_support import PASSWORD, Client, auth_of, fast_hashing, run, verified_user
from tests.web.oauth_support import oauth_server, provider, provider_settings, sign_in_with

__all__ = ["oauth_server", "provider"]  # fixtures, imported for pytest


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return provider_settings(settings, provider)


def _attempt(client: Client, password: str, ip: str, device_cookie: str = "") -> str:
    async def attempt() -> str:
        try:
            await flows.sign_in(
                auth_of(client),
                email="ada@example.com",
                password=password,
                ip=ip,
                user_agent="t",
                device_cookie=device_cookie,
            )
        except RateLimited:
            return "limited"
        except ValidationFailed:
            return "refused"
        return "ok"

    return run(client, attempt)


def test_oauth_sign_in_issues_a_device_cookie_that_outlasts_a_lockout(
    client: Client, provider: OAuthProvider
) -> None:
    fast_hashing(client)
    verified_user(client, "ada@example.com")
    provider.add_user("ada", email="ada@example.com")
    client.cookies.clear()
    assert sign_in_with(client, "google", "ada").status_code == 303
    device = client.cookies.get("device")
    assert device
    results = [_attempt(client, "wrong guess here", f"10.0.0.{i}") for i in range(6)]
    assert results == ["refused"] * 5 + ["limited"]
    assert _attempt(client, PASSWORD, "10.0.1.1") == "limited"
    assert _attempt(client, PASSWORD, "10.0.1.2", device) == "ok"
