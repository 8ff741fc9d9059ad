"""OAuth test fixtures and steps: the local provider, settings pointing at it, the redirect dance."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from httpx import Response

from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.oauth_provider import GITHUB, GOOGLE, OAuthProvider, oauth_server
from tests.web.auth_support import Client

__all__ = ["oauth_server"]


@pytest.fixture
def provider(oauth_server: OAuthProvider) -> OAuthProvider:
    """The provider with no users and no failures switched on."""
    oauth_server.reset()
    return oauth_server


def provider_settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return settings.with_overrides(
        google_client_id=GOOGLE[0],
        google_client_secret=GOOGLE[1],
        google_server_metadata_url=provider.metadata_url,
        github_client_id=GITHUB[0],
        github_client_secret=GITHUB[1],
        github_oauth_base_url=provider.base_url,
        github_api_base_url=f"{provider.base_url}/api",
    )


def start(client: Client, name: str, query: str = "", **headers: str) -> str:
    """GET /auth/oauth/<name>: the provider URL the app redirects to."""
    response = client.get(f"/auth/oauth/{name}{query}", headers=headers, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location


def consent(authorize_url: str, login: str, decision: str = "allow") -> str:
    """Be the user at the provider (a real HTTP client): open consent, answer; the callback URL."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        answer = browser.post(authorize_url, data={"login": login, "decision": decision})
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{TEST_BASE_URL}/auth/oauth/")
    return location


def callback(client: Client, location: str) -> Response:
    """Follow the provider's redirect back into the app (same browser: the client's cookies)."""
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def sign_in_with(client: Client, name: str, login: str, decision: str = "allow") -> Response:
    return callback(client, consent(start(client, name), login, decision))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
