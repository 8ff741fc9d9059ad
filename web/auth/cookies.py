"""Session, device and browser-binding cookies: HttpOnly, SameSite=Lax; `__Host-` and Secure in production."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

from litestar.datastructures import Cookie
from litestar.types import Empty, Scope
from litestar.utils.scope.state import ScopeState

from settings import Settings
from web.headers import first_headers
from web.private_apis import parse_cookie_string

DEV_NAME = "session"
# `__Host-` makes browsers refuse the cookie unless it is Secure, Path=/ and has no Domain,
# so a sibling subdomain cannot plant or overwrite it.
PRODUCTION_NAME = "__Host-session"
DEVICE_DEV_NAME = "device"
DEVICE_PRODUCTION_NAME = "__Host-device"


def request_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies as `request.cookies` has them, parsed once per request and kept there."""
    state = ScopeState.from_scope(scope)
    cookies = state.cookies
    if cookies is Empty:
        # The first Cookie header, as Litestar's Headers.get("cookie") reads it.
        header = first_headers(scope).get(b"cookie")
        cookies = state.cookies = parse_cookie_string(header.decode("latin-1")) if header else {}
    return cookies


def cookie_name(settings: Settings) -> str:
    return PRODUCTION_NAME if settings.is_production else DEV_NAME


def session_cookie(settings: Settings, token: str, expires_at: float) -> Cookie:
    return Cookie(
        key=cookie_name(settings),
        value=token,
        path="/",
        max_age=max(0, int(expires_at - time.time())),
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def cleared_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=cookie_name(settings),
        value="",
        path="/",
        max_age=0,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def device_cookie_name(settings: Settings) -> str:
    return DEVICE_PRODUCTION_NAME if settings.is_production else DEVICE_DEV_NAME


def device_cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    """The known-device cookie (domain/auth/device_cookie.py): outlives sessions and sign-out."""
    return Cookie(
        key=device_cookie_name(settings),
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def _binding_name(settings: Settings, name: str) -> str:
    return f"__Host-{name}" if settings.is_production else name


def read_binding(cookies: Mapping[str, str], settings: Settings, name: str) -> str:
    """This browser's secret from cookie `name` (OAuth flows, sign-ups); "" if absent or malformed."""
    value = cookies.get(_binding_name(settings, name), "")
    return value if 32 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else ""


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def binding_cookie(settings: Settings, name: str, value: str, max_age_s: int) -> Cookie:
    """A secret only this browser holds, so a link or callback can tell it started the flow."""
    return Cookie(
        key=_binding_name(settings, name),
        value=value,
        path="/",
        max_age=max_age_s,
        httponly=True,
        # Lax: a followed mail link or a provider's redirect back is a top-level GET, which Lax lets through.
        samesite="lax",
        secure=settings.is_production,
    )
