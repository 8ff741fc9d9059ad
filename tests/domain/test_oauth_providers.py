"""Provider registry, profile normalisation, and the flow client against the local provider (no web layer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from actors.connection import RedisClient, create_redis
from domain.auth.oauth_flow import OAuthClient
from domain.auth.oauth_profiles import clean_profile_avatar, clean_profile_name, is_true, pick_github_email
from domain.auth.oauth_providers import FlowInvalid, configured_providers, oidc_provider
from settings import Settings
from tests.support.oauth_provider import OAuthProvider, oauth_server

__all__ = ["oauth_server"]  # fixture, imported for pytest

CALLBACK = "http://app.test/auth/oauth/acme/callback"


def test_oauth_registry_lists_only_configured_providers() -> None:
    assert configured_providers(Settings()) == {}
    both = Settings(
        google_client_id="g", google_client_secret="gs", github_client_id="h", github_client_secret="hs"
    )
    assert list(configured_providers(both)) == ["google", "github"]
    half = Settings(google_client_id="g", github_client_id="h", github_client_secret="hs")
    assert list(configured_providers(half)) == ["github"]


def test_oauth_registry_endpoint_overrides() -> None:
    settings = Settings(
        github_client_id="h",
        github_client_secret="hs",
        github_oauth_base_url="https://ghe.example.com/",
        github_api_base_url="https://ghe.example.com/api/v3/",
        google_client_id="g",
        google_client_secret="gs",
        google_server_metadata_url="https://id.example.com/.well-known/openid-configuration",
    )
    providers = configured_providers(settings)
    assert providers["github"].authorize_url == "https://ghe.example.com/login/oauth/authorize"
    assert providers["github"].token_url == "https://ghe.example.com/login/oauth/access_token"
    assert providers["github"].api_base_url == "https://ghe.example.com/api/v3"
    assert providers["google"].metadata_url == "https://id.example.com/.well-known/openid-configuration"
    assert providers["google"].is_oidc and not providers["github"].is_oidc


def test_oauth_github_email_choice() -> None:
    emails = [
        {"email": "x@old.test", "primary": False, "verified": True},
        {"email": "Me@Main.test", "primary": True, "verified": True},
    ]
    assert pick_github_email(emails, None) == ("me@main.test", True)
    unverified_primary = [{"email": "p@x.test", "primary": True, "verified": False}, emails[0]]
    assert pick_github_email(unverified_primary, None) == ("x@old.test", True)
    assert pick_github_email([{"email": "p@x.test", "primary": True, "verified": False}], None) == (
        "p@x.test",
        False,
    )
    assert pick_github_email(None, "public@x.test") == ("public@x.test", False)
    assert pick_github_email([], None) == (None, False)


def test_oauth_profile_cleaning() -> None:
    assert clean_profile_name("  Grace \n Hopper ", email=None) == "Grace Hopper"
    assert clean_profile_name("", None, "login", email=None) == "login"
    assert clean_profile_name("", email="ada@example.com") == "ada"
    assert len(clean_profile_name("x" * 500, email=None)) == 100
    assert clean_profile_avatar("https://img.test/a.png") == "https://img.test/a.png"
    assert clean_profile_avatar("javascript:alert(1)") is None
    assert clean_profile_avatar("https://img.test/" + "a" * 3000) is None
    assert is_true(True) and is_true("true") and not is_true("yes") and not is_true(1)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[RedisClient]:
    client = create_redis(redis_url)
    yield client
    await client.aclose()


async def test_oauth_flow_is_bound_to_its_browser(oauth_server: OAuthProvider, redis: RedisClient) -> None:
    oauth_server.reset()
    oauth_server.add_client("acme-id", "acme-secret", [CALLBACK], "openid email profile")
    oauth_server.add_user("wile", name="Wile E.", email="wile@acme.test")
    acme = oidc_provider("acme", "Acme", "acme-id", "acme-secret", oauth_server.metadata_url)
    client = OAuthClient({"acme": acme}, redis)
    url = await client.begin("acme", redirect_uri=CALLBACK, binding="b" * 43)
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(url, data={"login": "wile", "decision": "allow"})
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    with pytest.raises(FlowInvalid):
        await client.complete("acme", state=params["state"], binding="c" * 43, code=params["code"])
    # The wrong browser used the flow up: it cannot be finished afterwards either.
    with pytest.raises(FlowInvalid):
        await client.complete("acme", state=params["state"], binding="b" * 43, code=params["code"])


async def test_oauth_any_oidc_provider_from_discovery(
    oauth_server: OAuthProvider, redis: RedisClient
) -> None:
    """A third provider is one `oidc_provider(...)` call: endpoints, issuer and keys come from discovery."""
    oauth_server.reset()
    oauth_server.add_client("acme-id", "acme-secret", [CALLBACK], "openid email profile")
    oauth_server.add_user("wile", name="Wile E.", email="Wile@Acme.test", avatar="https://img.test/w.png")
    client = OAuthClient(
        {"acme": oidc_provider("acme", "Acme", "acme-id", "acme-secret", oauth_server.metadata_url)}, redis
    )
    url = await client.begin("acme", redirect_uri=CALLBACK, binding="b" * 43, next_path="/account")
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(url, data={"login": "wile", "decision": "allow"})
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    done = await client.complete("acme", state=params["state"], binding="b" * 43, code=params["code"])
    assert done.flow.next == "/account"
    assert done.profile.account_id == "sub-wile"
    assert (done.profile.email, done.profile.email_verified) == ("wile@acme.test", True)
    assert (done.profile.name, done.profile.avatar) == ("Wile E.", "https://img.test/w.png")
    assert done.tokens.id_token and done.tokens.access_token and done.tokens.expires_at
