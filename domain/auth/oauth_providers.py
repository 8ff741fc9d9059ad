"""OAuth providers: what each one is (endpoints, scopes, how to read its profile) and which are configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from domain.errors import DomainError
from settings import Settings

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
GITHUB_OAUTH_BASE_URL = "https://github.com"
GITHUB_API_BASE_URL = "https://api.github.com"


class OAuthProfile(msgspec.Struct, frozen=True):
    """Who the provider says signed in, normalised across providers."""

    provider: str
    account_id: str
    email: str | None
    email_verified: bool
    name: str
    avatar: str | None = None


class OAuthTokens(msgspec.Struct, frozen=True):
    """What the token endpoint returned, as stored on the `accounts` row."""

    access_token: str
    refresh_token: str | None = None
    id_token: str | None = None
    expires_at: float | None = None
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    """What a profile reader gets: an authorised HTTP client, the tokens, and the provider's metadata."""

    provider: OAuthProvider
    # An authlib AsyncOAuth2Client carrying the access token (typed loosely: authlib ships no types).
    client: Any
    token: dict[str, Any]
    nonce: str
    metadata: dict[str, Any]
    jwks: Callable[[bool], Awaitable[dict[str, Any]]]


ProfileReader = Callable[[ProfileRequest], Awaitable[OAuthProfile]]


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """One sign-in provider. `metadata_url` makes it OpenID Connect (endpoints from discovery)."""

    name: str
    label: str
    client_id: str
    client_secret: str
    scope: str
    read_profile: ProfileReader
    metadata_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    api_base_url: str | None = None
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    authorize_params: dict[str, str] = field(default_factory=dict)

    @property
    def is_oidc(self) -> bool:
        return self.metadata_url is not None


def oidc_provider(
    name: str,
    label: str,
    client_id: str,
    client_secret: str,
    metadata_url: str,
    *,
    scope: str = "openid email profile",
    **extra: Any,
) -> OAuthProvider:
    """Any OpenID Connect provider: the discovery document supplies endpoints, issuer and keys."""
    from domain.auth.oauth_profiles import read_oidc_profile

    return OAuthProvider(
        name=name,
        label=label,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        read_profile=read_oidc_profile,
        metadata_url=metadata_url,
        **extra,
    )


def google(settings: Settings) -> OAuthProvider | None:
    if not (settings.google_client_id and settings.google_client_secret):
        return None
    return oidc_provider(
        "google",
        "Google",
        settings.google_client_id,
        settings.google_client_secret,
        settings.google_server_metadata_url or GOOGLE_METADATA_URL,
    )


def github(settings: Settings) -> OAuthProvider | None:
    if not (settings.github_client_id and settings.github_client_secret):
        return None
    from domain.auth.oauth_profiles import read_github_profile

    oauth_base = (settings.github_oauth_base_url or GITHUB_OAUTH_BASE_URL).rstrip("/")
    return OAuthProvider(
        name="github",
        label="GitHub",
        client_id=settings.github_client_id,
        client_secret=settings.github_client_secret,
        scope="read:user user:email",
        read_profile=read_github_profile,
        authorize_url=f"{oauth_base}/login/oauth/authorize",
        token_url=f"{oauth_base}/login/oauth/access_token",
        api_base_url=(settings.github_api_base_url or GITHUB_API_BASE_URL).rstrip("/"),
        token_auth_method="client_secret_post",
    )


# Adding a provider: write a function like `google` or `github` above and list it here.
PROVIDER_FACTORIES: tuple[Callable[[Settings], OAuthProvider | None], ...] = (google, github)


def configured_providers(settings: Settings) -> dict[str, OAuthProvider]:
    """The providers whose client id and secret are set, in display order."""
    found = (factory(settings) for factory in PROVIDER_FACTORIES)
    return {provider.name: provider for provider in found if provider is not None}


# --- errors: each ends on the sign-in page with its message and status ------------------------


class OAuthFailed(DomainError):
    """An OAuth sign-in or link that could not finish; the message names the provider and what to do."""

    status_code = 400


class UnknownProvider(OAuthFailed):
    status_code = 404


class FlowInvalid(OAuthFailed):
    """No matching attempt for this browser: state forged, reused, expired, or started elsewhere."""

    status_code = 400


class ConsentDenied(OAuthFailed):
    """The user said no (or cancelled) on the provider's consent screen."""

    status_code = 403


class ProviderRefused(OAuthFailed):
    """The provider answered with an OAuth error (bad code, PKCE mismatch, invalid client, ...)."""

    status_code = 400


class ProviderUnavailable(OAuthFailed):
    """The provider could not be reached or answered nonsense: a bad gateway from our side."""

    status_code = 502


class IdentityInvalid(OAuthFailed):
    """The provider's answer did not check out (ID token signature, issuer, audience, nonce, expiry)."""

    status_code = 400


class EmailMissing(OAuthFailed):
    status_code = 422
