"""The authorization-code dance with authlib: start (state, PKCE S256, nonce kept in Redis) and finish."""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

# Authlib 1.9 nags at import when it falls back from httpx2 to httpx; httpx is our choice. Its
# `deprecate` module installs an "always" filter when first imported, so import it before ours.
import authlib.deprecate
import httpx
import msgspec
from redis.exceptions import RedisError

from actors.connection import RedisClient
from domain.auth.oauth_providers import (
    ConsentDenied,
    FlowInvalid,
    OAuthFailed,
    OAuthProfile,
    OAuthProvider,
    OAuthTokens,
    ProfileRequest,
    ProviderRefused,
    ProviderUnavailable,
    UnknownProvider,
)
from domain.auth.tokens import hash_token
from domain.errors import Unavailable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger(__name__)

FLOW_TTL_S = 600
METADATA_TTL_S = 3600
HTTP_TIMEOUT_S = 10.0
STATE_BYTES = 32


class Flow(msgspec.Struct, frozen=True):
    """One started sign-in or link, stored server-side until its callback (single use)."""

    provider: str
    binding_hash: str
    code_verifier: str
    nonce: str
    redirect_uri: str
    next: str = "/"
    link_user_id: int | None = None
    started_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Completed:
    flow: Flow
    profile: OAuthProfile
    tokens: OAuthTokens


def _flow_key(state: str) -> str:
    return f"oauth:flow:{{{hash_token(state)}}}"


@dataclass
class OAuthClient:
    """Runs flows against the configured providers; discovery documents and key sets are cached."""

    providers: dict[str, OAuthProvider]
    redis: RedisClient
    timeout: float = HTTP_TIMEOUT_S
    _metadata: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _jwks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def provider(self, name: str) -> OAuthProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownProvider("That sign-in provider is not available here.")
        return provider

    def _client(self, provider: OAuthProvider, **kwargs: Any) -> Any:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            token_endpoint_auth_method=provider.token_auth_method,
            code_challenge_method="S256",
            scope=provider.scope,
            timeout=self.timeout,
            headers={"User-Agent": "remote-stack-oauth"},
            **kwargs,
        )

    def _down(self, provider: OAuthProvider) -> ProviderUnavailable:
        return ProviderUnavailable(f"{provider.label} is not responding right now. Please try again shortly.")

    async def metadata(self, provider: OAuthProvider) -> dict[str, Any]:
        """The OIDC discovery document (cached an hour); {} for plain OAuth 2.0 providers."""
        if provider.metadata_url is None:
            return {}
        cached = self._metadata.get(provider.name)
        if cached and time.monotonic() - cached[0] < METADATA_TTL_S:
            return cached[1]
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            try:
                response = await http.get(provider.metadata_url)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise self._down(provider) from exc
        if not isinstance(document, dict) or not document.get("authorization_endpoint"):
            raise self._down(provider)
        self._metadata[provider.name] = (time.monotonic(), document)
        self._jwks.pop(provider.name, None)
        return document

    async def jwks(self, provider: OAuthProvider, force: bool = False) -> dict[str, Any]:
        """The provider's signing keys, fetched again when `force` (an unknown key id: rotation)."""
        if not force and provider.name in self._jwks:
            return self._jwks[provider.name]
        uri = (await self.metadata(provider)).get("jwks_uri")
        if not isinstance(uri, str):
            raise self._down(provider)
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            try:
                response = await http.get(uri)
                response.raise_for_status()
                keys = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise self._down(provider) from exc
        if not isinstance(keys, dict):
            raise self._down(provider)
        self._jwks[provider.name] = keys
        return keys

    # --- start ------------------------------------------------------------------------------

    async def begin(
        self,
        name: str,
        *,
        redirect_uri: str,
        binding: str,
        next_path: str = "/",
        link_user_id: int | None = None,
    ) -> str:
        """Store a new flow and return the provider URL to send the browser to.

        `binding` is the browser's secret from its short-lived cookie: the callback must come from
        the browser that started the flow (login CSRF defence on top of `state`).
        """
        provider = self.provider(name)
        metadata = await self.metadata(provider)
        authorize_url = provider.authorize_url or metadata.get("authorization_endpoint")
        state = secrets.token_urlsafe(STATE_BYTES)
        flow = Flow(
            provider=name,
            binding_hash=hash_token(binding),
            code_verifier=secrets.token_urlsafe(48),
            nonce=secrets.token_urlsafe(24),
            redirect_uri=redirect_uri,
            next=next_path,
            link_user_id=link_user_id,
            started_at=time.time(),
        )
        params: dict[str, str] = dict(provider.authorize_params)
        if provider.is_oidc:
            params["nonce"] = flow.nonce
        async with self._client(provider, redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                authorize_url, state=state, code_verifier=flow.code_verifier, **params
            )
        try:
            await self.redis.set(_flow_key(state), msgspec.json.encode(flow), ex=FLOW_TTL_S)
        except (RedisError, OSError) as exc:
            raise Unavailable(UNAVAILABLE) from exc
        return str(url)

    # --- finish -----------------------------------------------------------------------------

    async def take_flow(self, name: str, state: str, binding: str) -> Flow:
        """The flow `state` names, used up; FlowInvalid unless this browser started it for `name`."""
        if not state or len(state) > 200 or not binding:
            raise FlowInvalid(EXPIRED)
        try:
            raw = await self.redis.getdel(_flow_key(state))
        except (RedisError, OSError) as exc:
            raise Unavailable(UNAVAILABLE) from exc
        if not isinstance(raw, bytes):
            raise FlowInvalid(EXPIRED)
        try:
            flow = msgspec.json.decode(raw, type=Flow)
        except msgspec.DecodeError as exc:  # written by another version of the app
            raise FlowInvalid(EXPIRED) from exc
        if not hmac.compare_digest(flow.binding_hash, hash_token(binding)) or flow.provider != name:
            raise FlowInvalid(EXPIRED)
        return flow

    async def complete(
        self,
        name: str,
        *,
        state: str,
        binding: str,
        code: str,
        error: str = "",
        error_description: str = "",
    ) -> Completed:
        """Check state, exchange the code (with the PKCE verifier), and read the profile."""
        provider = self.provider(name)
        if error:
            log.info(
                "oauth provider error: provider=%s error=%.60r detail=%.200r", name, error, error_description
            )
            # Use the flow up either way, so the same state cannot be replayed later.
            with contextlib.suppress(FlowInvalid):
                await self.take_flow(name, state, binding)
            if error == "access_denied":
                raise ConsentDenied(f"You cancelled signing in with {provider.label}.")
            if error in {"temporarily_unavailable", "server_error"}:
                raise self._down(provider)
            detail = f" ({error})" if len(error) < 60 and error.replace("_", "").isalnum() else ""
            raise ProviderRefused(f"{provider.label} could not sign you in{detail}. Please try again.")
        flow = await self.take_flow(name, state, binding)
        if not code or len(code) > 2048:
            raise ProviderRefused(f"{provider.label} did not send a sign-in code. Please try again.")
        metadata = await self.metadata(provider)
        token_url = provider.token_url or metadata.get("token_endpoint")
        async with self._client(provider, redirect_uri=flow.redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    token_url,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=flow.code_verifier,
                )
            except OAuthError as exc:
                raise ProviderRefused(
                    f"{provider.label} refused the sign-in ({exc.error}). Please try again."
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise self._down(provider) from exc
            access_token = token.get("access_token")
            if not isinstance(access_token, str) or not access_token:
                raise ProviderRefused(f"{provider.label} did not issue an access token. Please try again.")

            async def jwks(force: bool) -> dict[str, Any]:
                return await self.jwks(provider, force)

            request = ProfileRequest(
                provider=provider,
                client=client,
                token=dict(token),
                nonce=flow.nonce,
                metadata=metadata,
                jwks=jwks,
            )
            try:
                profile = await provider.read_profile(request)
            except OAuthFailed:
                raise
            except OAuthError as exc:
                raise ProviderRefused(f"{provider.label} refused the sign-in ({exc.error}).") from exc
            except Exception as exc:
                # Whatever a provider sends, the user gets a message, not a 500; we get the traceback.
                log.exception("reading the %s profile failed", provider.name)
                raise self._down(provider) from exc
        return Completed(flow=flow, profile=profile, tokens=tokens_from(token))


UNAVAILABLE = "Sign-in is temporarily unavailable. Please try again shortly."
EXPIRED = "This sign-in attempt has expired or was started in another browser. Please try again."


def tokens_from(token: dict[str, Any]) -> OAuthTokens:
    def text(key: str) -> str | None:
        value = token.get(key)
        return value if isinstance(value, str) and value else None

    expires_at = token.get("expires_at")
    return OAuthTokens(
        access_token=str(token.get("access_token", "")),
        refresh_token=text("refresh_token"),
        id_token=text("id_token"),
        expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
        scope=text("scope"),
    )
