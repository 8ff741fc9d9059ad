"""OAuth's shared vocabulary: providers, profiles, tokens and the errors a sign-in can end with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from domain.errors import DomainError


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
