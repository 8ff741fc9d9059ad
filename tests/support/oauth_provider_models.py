"""The local OAuth provider's records (users, clients, codes) and its authlib request and PKCE rules."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge


@dataclass
class ProviderUser:
    """Someone who can sign in at the provider."""

    sub: str
    login: str
    name: str
    email: str | None
    email_verified: bool = True
    avatar: str | None = None
    github_id: int = 0
    # GitHub-style address list; by default just `email` as the primary one.
    emails: list[dict[str, Any]] | None = None

    def github_emails(self) -> list[dict[str, Any]]:
        if self.emails is not None:
            return self.emails
        if not self.email:
            return []
        return [{"email": self.email, "primary": True, "verified": self.email_verified, "visibility": None}]


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request from values already read off a Litestar request."""

    def __init__(self, method: str, uri: str, headers: Any, args: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._args = args
        self._form = form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class StrictPKCE(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client, and only S256 (what the app must send)."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise_invalid("PKCE with code_challenge_method=S256 is required.", redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


def raise_invalid(description: str, redirect_uri: str) -> None:
    from authlib.oauth2.rfc6749.errors import InvalidRequestError

    raise InvalidRequestError(description, redirect_uri=redirect_uri)
