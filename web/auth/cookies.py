"""Session and device cookies: HttpOnly, SameSite=Lax, and in production Secure with the `__Host-` prefix."""

from __future__ import annotations

import time

from litestar.datastructures import Cookie

from settings import Settings

DEV_NAME = "session"
# `__Host-` makes browsers refuse the cookie unless it is Secure, Path=/ and has no Domain,
# so a sibling subdomain cannot plant or overwrite it.
PRODUCTION_NAME = "__Host-session"
DEVICE_DEV_NAME = "device"
DEVICE_PRODUCTION_NAME = "__Host-device"


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
