"""Read a signed-in identity from a provider: OpenID Connect (ID token + userinfo) or GitHub's REST API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from domain.auth.oauth_types import (
    IdentityInvalid,
    OAuthProfile,
    ProfileRequest,
    ProviderUnavailable,
)
from domain.auth.validation import MAX_AVATAR, MAX_NAME, normalize_email

# Clock skew tolerated on ID token times (iat, exp, nbf).
ID_TOKEN_LEEWAY_S = 120


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def is_true(value: object) -> bool:
    """Providers send `email_verified` as a JSON boolean, some as the string "true"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def clean_profile_name(*candidates: object, email: str | None) -> str:
    """The first usable display name, squeezed to what `users.name` allows."""
    for candidate in candidates:
        name = " ".join(_text(candidate).split())
        name = "".join(c for c in name if c.isprintable())[:MAX_NAME].strip()
        if name:
            return name
    if email and "@" in email:
        return email.split("@", 1)[0][:MAX_NAME] or "New user"
    return "New user"


def clean_profile_avatar(value: object) -> str | None:
    url = _text(value)
    parts = urlsplit(url)
    if not url or len(url) > MAX_AVATAR or parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if any(c.isspace() or not c.isprintable() for c in url):
        return None
    return url


def clean_profile_email(value: object) -> str | None:
    email = normalize_email(_text(value))
    return email if "@" in email and email.isprintable() and len(email) <= 320 else None


async def _get_json(request: ProfileRequest, url: str) -> Any:
    """GET `url` with the access token; connection trouble or a 5xx is the provider being down."""
    label = request.provider.label
    try:
        response = await request.client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{label} is not responding right now. Please try again.") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(f"{label} is having trouble right now. Please try again.")
    if response.status_code >= 400:
        raise IdentityInvalid(f"{label} would not tell us who you are (HTTP {response.status_code}).")
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"{label} sent an answer we could not read. Please try again.") from exc


# --- OpenID Connect ---------------------------------------------------------------------------


def _key_set(jwks: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(jwks)  # type: ignore[arg-type]


async def verified_id_token_claims(request: ProfileRequest) -> dict[str, Any]:
    """The ID token's claims after checking signature (provider's JWKS), iss, aud, exp, iat and nonce."""
    label = request.provider.label
    id_token = request.token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise IdentityInvalid(f"{label} did not send an ID token, so we cannot confirm who you are.")
    metadata = request.metadata
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    # Never accept unsigned tokens, whatever the discovery document says.
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(await request.jwks(False)), registry=registry)
        except InvalidKeyIdError:
            # Keys rotate: fetch the set again once before giving up.
            decoded = jwt.decode(id_token, _key_set(await request.jwks(True)), registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata.get("issuer", "")},
                "aud": {"essential": True, "value": request.provider.client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            },
            {
                "nonce": request.nonce,
                "client_id": request.provider.client_id,
                "access_token": request.token.get("access_token"),
            },
        )
        claims.validate(leeway=ID_TOKEN_LEEWAY_S)
    except (JoseError, ValueError) as exc:
        raise IdentityInvalid(
            f"We could not verify {label}'s answer ({exc.__class__.__name__}). Please try again."
        ) from exc
    return dict(claims)


async def read_oidc_profile(request: ProfileRequest) -> OAuthProfile:
    """Identity from the validated ID token, completed by the userinfo endpoint when there is one."""
    claims = await verified_id_token_claims(request)
    userinfo_url = request.metadata.get("userinfo_endpoint")
    if isinstance(userinfo_url, str) and userinfo_url:
        info = await _get_json(request, userinfo_url)
        # OIDC Core 5.3.2: userinfo about anyone other than the ID token's subject must be ignored.
        if isinstance(info, dict) and info.get("sub") == claims["sub"]:
            claims = {**claims, **info}
    email = clean_profile_email(claims.get("email"))
    return OAuthProfile(
        provider=request.provider.name,
        account_id=str(claims["sub"]),
        email=email,
        email_verified=email is not None and is_true(claims.get("email_verified")),
        name=clean_profile_name(claims.get("name"), claims.get("preferred_username"), email=email),
        avatar=clean_profile_avatar(claims.get("picture")),
    )


# --- GitHub -----------------------------------------------------------------------------------


def pick_github_email(emails: object, public_email: object) -> tuple[str | None, bool]:
    """Primary verified first, then any verified, then the primary unverified, then the public one."""
    entries = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
    ranked = (
        [e for e in entries if e.get("primary") and e.get("verified") is True]
        + [e for e in entries if e.get("verified") is True]
        + [e for e in entries if e.get("primary")]
    )
    for entry in ranked:
        email = clean_profile_email(entry.get("email"))
        if email:
            return email, entry.get("verified") is True
    return clean_profile_email(public_email), False


async def read_github_profile(request: ProfileRequest) -> OAuthProfile:
    """GitHub: `/user` for who, `/user/emails` for the primary verified address (needs `user:email`)."""
    base = request.provider.api_base_url or ""
    user = await _get_json(request, f"{base}/user")
    if not isinstance(user, dict) or user.get("id") in (None, ""):
        raise IdentityInvalid("GitHub did not tell us who you are. Please try again.")
    try:
        emails = await _get_json(request, f"{base}/user/emails")
    except IdentityInvalid:
        emails = []  # The scope was not granted: fall back to the public email, unverified.
    email, verified = pick_github_email(emails, user.get("email"))
    return OAuthProfile(
        provider=request.provider.name,
        account_id=str(user["id"]),
        email=email,
        email_verified=verified,
        name=clean_profile_name(user.get("name"), user.get("login"), email=email),
        avatar=clean_profile_avatar(user.get("avatar_url")),
    )
