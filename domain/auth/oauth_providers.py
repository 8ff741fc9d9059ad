"""OAuth providers: what each one is (endpoints, scopes, how to read its profile) and which are configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.auth.oauth_profiles import read_github_profile, read_oidc_profile
from domain.auth.oauth_types import (
    ConsentDenied,
    EmailMissing,
    FlowInvalid,
    IdentityInvalid,
    OAuthFailed,
    OAuthProfile,
    OAuthProvider,
    OAuthTokens,
    ProfileReader,
    ProfileRequest,
    ProviderRefused,
    ProviderUnavailable,
    UnknownProvider,
)
from settings import Settings

__all__ = [
    "PROVIDER_FACTORIES",
    "ConsentDenied",
    "EmailMissing",
    "FlowInvalid",
    "IdentityInvalid",
    "OAuthFailed",
    "OAuthProfile",
    "OAuthProvider",
    "OAuthTokens",
    "ProfileReader",
    "ProfileRequest",
    "ProviderRefused",
    "ProviderUnavailable",
    "UnknownProvider",
    "configured_providers",
    "github",
    "google",
    "oidc_provider",
]

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
GITHUB_OAUTH_BASE_URL = "https://github.com"
GITHUB_API_BASE_URL = "https://api.github.com"


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
