"""The session cookie: HttpOnly, SameSite=Lax, and in production Secure with the `__Host-` prefix."""

from __future__ import annotations

import time

from litestar.datastructures import Cookie

from settings import Settings

DEV_NAME = "session"
# `__Host-` makes browsers refuse the cookie unless it is Secure, Path=/ and has no Domain,
# so a sibling subdomain cannot plant or overwrite it.
PRODUCTION_NAME = "__Host-session"


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
