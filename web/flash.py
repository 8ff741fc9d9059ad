"""Flash messages across a redirect, kept in a short-lived signed cookie (no server-side state), read once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, Literal, cast

import msgspec
from litestar import Litestar, Request, Response
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.types import Message, Scope

COOKIE = "flash"
MAX_AGE_S = 60
MAX_MESSAGES = 5
MAX_TEXT = 300
CONSUMED_KEY = "flash_consumed"
Level = Literal["info", "success", "error"]


class Flash(msgspec.Struct, frozen=True):
    """One message shown once on the next page."""

    text: str
    level: Level = "info"


class _Payload(msgspec.Struct, frozen=True):
    messages: list[Flash]
    expires: float


def _secret(app: Litestar) -> bytes:
    settings = getattr(app.state, "settings", None)
    secret = getattr(settings, "auth_secret", None) or getattr(app.csrf_config, "secret", None)
    if not secret:
        raise RuntimeError("flash messages need settings.auth_secret (or a CSRF secret) to sign cookies")
    return f"flash:{secret}".encode()


def _secure(request: Request[Any, Any, Any]) -> bool:
    # Behind a TLS-terminating proxy the request looks like http; production is always https.
    settings = getattr(request.app.state, "settings", None)
    return request.url.scheme == "https" or bool(getattr(settings, "is_production", False))


def _sign(payload: bytes, secret: bytes) -> str:
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def _unsign(value: str, secret: bytes) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None
    mac, payload = raw[:16], raw[16:]
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return payload if hmac.compare_digest(mac, expected) else None


def encode(messages: list[Flash], secret: bytes) -> str:
    trimmed = [Flash(m.text[:MAX_TEXT], m.level) for m in messages[-MAX_MESSAGES:]]
    payload = msgspec.json.encode(_Payload(trimmed, time.time() + MAX_AGE_S))
    return _sign(payload, secret)


def decode(value: str, secret: bytes) -> list[Flash]:
    payload = _unsign(value, secret)
    if payload is None:
        return []
    try:
        data = msgspec.json.decode(payload, type=_Payload)
    except msgspec.ValidationError:
        return []
    return data.messages if data.expires >= time.time() else []


def flash(request: Request[Any, Any, Any], response: Response[Any], text: str, level: Level = "info") -> None:
    """Attach `text` to `response` so the next page the browser loads shows it."""
    secret = _secret(request.app)
    pending = [*_pending(request, secret), Flash(text, level)]
    response.set_cookie(
        Cookie(
            key=COOKIE,
            value=encode(pending, secret),
            max_age=MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
    )


def _pending(request: Request[Any, Any, Any], secret: bytes) -> list[Flash]:
    # Unread messages survive another redirect (e.g. sign-in → next) instead of being lost.
    if cast(dict[str, Any], request.scope).get(CONSUMED_KEY):
        return []
    value = request.cookies.get(COOKIE)
    return decode(value, secret) if value else []


def get_flashes(context: Mapping[str, Any]) -> list[Flash]:
    """Template callable: the messages waiting for this request; the cookie is cleared on the way out."""
    request = context.get("request")
    if not isinstance(request, Request):
        return []
    scope = cast(dict[str, Any], request.scope)
    if scope.get(CONSUMED_KEY):
        return []
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    scope[CONSUMED_KEY] = True
    return decode(value, _secret(request.app))


async def before_send(message: Message, scope: Scope) -> None:
    """`before_send` hook: expire the flash cookie once a page has shown it."""
    if message["type"] == "http.response.start":
        expire_shown(message, scope)


def expire_shown(message: Message, scope: Scope) -> None:
    """On a response start: expire the flash cookie if this request showed its messages."""
    if not cast(dict[str, Any], scope).get(CONSUMED_KEY):
        return
    headers = MutableScopeHeaders.from_message(message)
    already = [v for v in headers.getall("set-cookie", []) if v.startswith(f"{COOKIE}=")]
    if not already:
        headers.add("set-cookie", expired_cookie().to_header(header=""))


def expired_cookie() -> Cookie:
    """The Set-Cookie that ends the flash messages (they were shown)."""
    return Cookie(key=COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")
