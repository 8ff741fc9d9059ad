"""OAuth sign-in over real HTTP against the local provider: both styles, accounts, every failure."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app import create_app
from domain.auth.tables import Account, User
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.oauth_provider import OAuthProvider
from tests.web.auth_support import (
    HTMX,
    Browser,
    Client,
    fast_hashing,
    run,
    session_cookie,
    sign_in,
    sign_up,
    verified_user,
)
from tests.web.oauth_support import (
    callback,
    consent,
    oauth_server,
    provider,
    provider_settings,
    query_of,
    sign_in_with,
    start,
)

__all__ = ["oauth_server", "provider"]  # fixtures, imported for pytest

STYLES = ["google", "github"]


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider) -> Settings:
    return provider_settings(settings, provider)


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def users(client: Client) -> list[dict[str, Any]]:
    async def query() -> list[dict[str, Any]]:
        return await User.select().order_by(User.id)

    return run(client, query)


def accounts(client: Client) -> list[dict[str, Any]]:
    async def query() -> list[dict[str, Any]]:
        return await Account.select().order_by(Account.id)

    return run(client, query)


def oauth_accounts(client: Client) -> list[dict[str, Any]]:
    return [a for a in accounts(client) if a["provider"] != "credentials"]


def assert_refused(response: Any, status: int, *fragments: str) -> None:
    """Ended on the sign-in page, with the status and message expected, and nobody signed in."""
    assert response.status_code == status, response.text
    assert 'id="auth_sign_in"' in response.text
    for fragment in fragments:
        assert fragment in response.text
    assert response.headers.get("location") is None


# --- buttons and start ---------------------------------------------------------------------------


def test_oauth_sign_in_page_has_a_button_per_configured_provider(client: Client) -> None:
    page = client.get("/auth/sign-in?next=/account")
    assert 'href="/auth/oauth/google?next=/account"' in page.text.replace("%2F", "/")
    assert "Continue with Google" in page.text and "Continue with GitHub" in page.text
    assert 'hx-boost="false"' in page.text


def test_oauth_buttons_absent_for_unconfigured_providers(settings: Settings) -> None:
    only_github = settings.with_overrides(google_client_id=None, google_client_secret=None)
    with TestClient[Litestar](app=create_app(only_github), base_url=TEST_BASE_URL) as other:
        page = other.get("/auth/sign-in")
        assert "Continue with GitHub" in page.text and "Continue with Google" not in page.text
        missing = other.get("/auth/oauth/google")
    assert missing.status_code == 404
    assert "not available" in missing.text


def test_oauth_start_sends_state_pkce_s256_and_nonce(client: Client) -> None:
    google = query_of(start(client, "google"))
    github = query_of(start(client, "github"))
    for params in (google, github):
        assert params["code_challenge_method"] == "S256"
        assert len(params["code_challenge"]) == 43 and len(params["state"]) >= 43
        assert params["redirect_uri"].startswith(f"{TEST_BASE_URL}/auth/oauth/")
    assert google["nonce"] and google["scope"] == "openid email profile"
    assert github["scope"] == "read:user user:email"
    assert client.cookies.get("oauth_binding")


def test_oauth_start_for_htmx_is_a_client_redirect(client: Client) -> None:
    response = client.get("/auth/oauth/github", headers=HTMX, follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["hx-redirect"].startswith("http://127.0.0.1:")


# --- accounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_oauth_first_sign_in_creates_user_and_account(
    client: Client, provider: OAuthProvider, style: str
) -> None:
    provider.add_user(
        "grace", name="Grace Hopper", email="Grace@Example.com", avatar="https://img.test/g.png"
    )
    response = sign_in_with(client, style, "grace")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    assert session_cookie(client)
    [user] = users(client)
    assert (user["email"], user["name"], user["avatar"]) == (
        "grace@example.com",
        "Grace Hopper",
        "https://img.test/g.png",
    )
    assert user["email_verified"] is True
    [account] = oauth_accounts(client)
    expected_id = "sub-grace" if style == "google" else str(provider.users["grace"].github_id)
    assert (account["provider"], account["provider_account_id"]) == (style, expected_id)
    assert account["access_token"]
    assert bool(account["id_token"]) is (style == "google")
    page = client.get("/account")
    assert page.status_code == 200 and "grace@example.com" in page.text


@pytest.mark.parametrize("style", STYLES)
def test_oauth_returning_user_is_matched_by_account_id(
    client: Client, provider: OAuthProvider, style: str
) -> None:
    grace = provider.add_user("grace", email="grace@example.com")
    assert sign_in_with(client, style, "grace").status_code == 303
    first = session_cookie(client)
    # The email changes at the provider; the account id is what identifies her.
    grace.email = "hopper@example.com"
    assert sign_in_with(client, style, "grace").status_code == 303
    assert session_cookie(client) != first
    assert len(users(client)) == 1 and len(oauth_accounts(client)) == 1
    assert users(client)[0]["email"] == "grace@example.com"


def test_oauth_new_user_keeps_unverified_flag(client: Client, provider: OAuthProvider) -> None:
    eve = provider.add_user("eve", email="eve@example.com", email_verified=False)
    assert sign_in_with(client, "google", "eve").status_code == 303
    assert users(client)[0]["email_verified"] is False
    # Once the provider has verified the address, her next sign-in confirms it here too.
    eve.email_verified = True
    assert sign_in_with(client, "google", "eve").status_code == 303
    assert users(client)[0]["email_verified"] is True


@pytest.mark.parametrize("style", STYLES)
def test_oauth_verified_email_links_to_existing_user(
    client: Client, provider: OAuthProvider, style: str
) -> None:
    verified_user(client, "ada@example.com", name="Ada")
    provider.add_user("ada", name="Ada L.", email="ADA@example.com")
    response = sign_in_with(client, style, "ada")
    assert response.status_code == 303
    [user] = users(client)
    assert user["name"] == "Ada"  # her own profile is kept
    assert [a["provider"] for a in accounts(client)] == ["credentials", style]
    # Her password still works: the address was already hers.
    client.cookies.clear()
    assert sign_in(client, "ada@example.com").status_code == 200
    assert session_cookie(client)


@pytest.mark.parametrize("style", STYLES)
def test_oauth_unverified_email_is_not_linked(client: Client, provider: OAuthProvider, style: str) -> None:
    verified_user(client, "ada@example.com")
    client.cookies.clear()
    provider.add_user("mallory", email="ada@example.com", email_verified=False)
    response = sign_in_with(client, style, "mallory")
    assert_refused(response, 409, "already exists", "has not verified")
    assert not session_cookie(client)
    assert oauth_accounts(client) == [] and len(users(client)) == 1


def test_oauth_github_prefers_primary_verified_email(client: Client, provider: OAuthProvider) -> None:
    provider.add_user(
        "lin",
        email=None,
        emails=[
            {"email": "old@example.com", "primary": False, "verified": True},
            {"email": "lin@example.com", "primary": True, "verified": True},
        ],
    )
    assert sign_in_with(client, "github", "lin").status_code == 303
    assert users(client)[0]["email"] == "lin@example.com"


def test_oauth_verified_identity_takes_over_unconfirmed_sign_up(
    client: Client, provider: OAuthProvider
) -> None:
    """Someone signed up with Ada's address but never confirmed it: Ada's verified Google wins."""
    sign_up(client, "ada@example.com", name="Squatter")
    provider.add_user("ada", email="ada@example.com")
    assert sign_in_with(client, "google", "ada").status_code == 303
    [user] = users(client)
    assert user["email_verified"] is True
    assert [a["provider"] for a in accounts(client)] == ["google"]
    client.cookies.clear()
    refused = sign_in(client, "ada@example.com")
    assert refused.status_code == 422 and not session_cookie(client)


def test_oauth_missing_email_is_refused(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("ghost", email=None)
    assert_refused(sign_in_with(client, "github", "ghost"), 422, "did not share an email")
    assert_refused(sign_in_with(client, "google", "ghost"), 422, "did not share an email")
    assert users(client) == []


def test_oauth_next_path_survives_the_dance(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    location = consent(start(client, "github", "?next=/account"), "grace")
    assert callback(client, location).headers["location"] == "/account"
    other = consent(start(client, "github", "?next=https://evil.example/"), "grace")
    assert callback(client, other).headers["location"] == "/"


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_oauth_cancelled_consent(client: Client, provider: OAuthProvider, style: str) -> None:
    provider.add_user("grace", email="grace@example.com")
    response = sign_in_with(client, style, "grace", decision="deny")
    label = "Google" if style == "google" else "GitHub"
    assert_refused(response, 403, f"You cancelled signing in with {label}")
    assert users(client) == []


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        ("server_error", 502, "not responding"),
        ("invalid_scope", 400, "could not sign you in (invalid_scope)"),
    ],
)
@pytest.mark.parametrize("style", ["google", "github"])
def test_oauth_provider_error_redirect(
    client: Client, provider: OAuthProvider, error: str, status: int, text: str, style: str
) -> None:
    provider.add_user("grace", email="grace@example.com")
    assert_refused(sign_in_with(client, style, "grace", decision=error), status, text)


@pytest.mark.parametrize("style", ["google", "github"])
def test_oauth_state_mismatch(client: Client, provider: OAuthProvider, style: str) -> None:
    provider.add_user("grace", email="grace@example.com")
    location = consent(start(client, style), "grace")
    forged = location.replace(query_of(location)["state"], "forged-state-value")
    assert_refused(callback(client, forged), 400, "expired or was started in another browser")
    # The real state still works once, then never again.
    assert callback(client, location).status_code == 303
    client.cookies.delete("session")
    assert_refused(callback(client, location), 400, "expired")


def test_oauth_callback_from_another_browser_is_refused(client: Client, provider: OAuthProvider) -> None:
    """Login CSRF: a victim's browser must not finish a flow the attacker started."""
    provider.add_user("mallory", email="mallory@example.com")
    location = consent(start(client, "github"), "mallory")
    victim = Browser(client)
    with victim.active():
        assert_refused(callback(client, location), 400, "another browser")
        assert not session_cookie(client)


def test_oauth_callback_for_wrong_provider_is_refused(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    location = consent(start(client, "github"), "grace")
    assert_refused(callback(client, location.replace("/github/", "/google/")), 400, "expired")


@pytest.mark.parametrize("style", ["google", "github"])
def test_oauth_pkce_verifier_mismatch_is_refused_by_the_provider(
    client: Client, provider: OAuthProvider, style: str
) -> None:
    """Code injection: an attacker's code pasted into the victim's callback fails PKCE at the provider."""
    provider.add_user("mallory", email="mallory@example.com")
    attacker = Browser(client)
    with attacker.active():
        stolen_code = query_of(consent(start(client, style), "mallory"))["code"]
    victim_state = query_of(start(client, style))["state"]
    path = f"/auth/oauth/{style}/callback?code={stolen_code}&state={victim_state}"
    response = client.get(path, follow_redirects=False)
    assert_refused(response, 400, "refused the sign-in (invalid_grant)")
    assert not session_cookie(client) and users(client) == []


def test_oauth_code_is_single_use_at_the_provider(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    location = consent(start(client, "github"), "grace")
    code = query_of(location)["code"]
    assert callback(client, location).status_code == 303
    client.cookies.delete("session")
    fresh_state = query_of(start(client, "github"))["state"]
    replay = client.get(
        f"/auth/oauth/github/callback?code={code}&state={fresh_state}", follow_redirects=False
    )
    assert_refused(replay, 400, "invalid_grant")


@pytest.mark.parametrize("style", STYLES)
def test_oauth_provider_down_during_token_exchange(
    client: Client, provider: OAuthProvider, style: str
) -> None:
    provider.add_user("grace", email="grace@example.com")
    location = consent(start(client, style), "grace")
    provider.fail_status = 503
    assert_refused(callback(client, location), 502, "not responding")


def test_oauth_provider_down_at_start(client: Client, provider: OAuthProvider) -> None:
    provider.fail_status = 503
    response = client.get("/auth/oauth/google", follow_redirects=False)
    assert_refused(response, 502, "Google is not responding")


def test_oauth_provider_unreachable(settings: Settings) -> None:
    from tests.support.server import free_port

    nowhere = settings.with_overrides(
        google_server_metadata_url=f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    )
    with TestClient[Litestar](app=create_app(nowhere), base_url=TEST_BASE_URL) as other:
        response = other.get("/auth/oauth/google", follow_redirects=False)
    assert_refused(response, 502, "not responding")


@pytest.mark.parametrize(
    "override",
    [
        {"aud": "someone-else"},
        {"nonce": "not-the-one-we-sent"},
        {"exp": 1_000_000},
        {"iss": "https://evil.example"},
    ],
    ids=["aud", "nonce", "exp", "iss"],
)
def test_oauth_bad_id_token_is_refused(
    client: Client, provider: OAuthProvider, override: dict[str, Any]
) -> None:
    provider.add_user("grace", email="grace@example.com")
    provider.id_token_overrides = override
    assert_refused(sign_in_with(client, "google", "grace"), 400, "could not verify")
    assert users(client) == []


def test_oauth_signing_key_rotation_is_followed(client: Client, provider: OAuthProvider) -> None:
    provider.add_user("grace", email="grace@example.com")
    assert sign_in_with(client, "google", "grace").status_code == 303  # the app has cached the keys
    provider.rotate_key("test-key-2")
    client.cookies.delete("session")
    assert sign_in_with(client, "google", "grace").status_code == 303
    assert provider.jwks_requests == 2  # fetched once, then again for the unknown key id


def test_oauth_callback_without_code_or_state(client: Client) -> None:
    assert_refused(client.get("/auth/oauth/github/callback"), 400)
    assert client.get("/auth/oauth/nope/callback?code=x&state=y").status_code == 404
