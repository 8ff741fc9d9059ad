"""ASGI middleware: resolve the session cookie; set `scope["user"]` and `scope["auth"]` on every request."""

from __future__ import annotations

import logging
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.auth.core import Auth
from domain.auth.sessions import Resolved
from web.auth.cookies import cleared_cookie, cookie_name, session_cookie
from web.auth.csrf import (
    EXPECTED_KEY,
    SAFE_METHODS,
    bound_token,
    csrf_config_of,
    install_for_safe_request,
    refuse_foreign_token,
)

log = logging.getLogger(__name__)


def _cookie_value(scope: Scope, name: str) -> str | None:
    """The named cookie, as Litestar parses the Cookie header (cached in the scope for the request)."""
    return ASGIConnection[Any, Any, Any, Any](scope).cookies.get(name)


def auth_of(scope: Scope) -> Auth | None:
    app = scope.get("app")
    services = getattr(getattr(app, "state", None), "services", None)
    auth = getattr(services, "auth", None)
    return auth if isinstance(auth, Auth) else None


class SessionMiddleware:
    """Looks the session up (Redis first, then the database); re-sends the cookie when extended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await self.app(scope, receive, send)
            return
        raw = cast(dict[str, Any], scope)
        raw["user"] = None
        raw["auth"] = None
        auth = auth_of(scope)
        settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
        name = cookie_name(settings) if settings is not None else "session"
        token = _cookie_value(scope, name)
        cookies: list[Cookie] = []
        if token and auth is not None and settings is not None:
            resolved: Resolved | None = None
            try:
                resolved = await auth.sessions.resolve(token)
            except Exception:  # any database failure: serve the page signed out, not a 500
                log.exception("session lookup failed; treating the request as signed out")
            else:
                if resolved is None:
                    cookies.append(cleared_cookie(settings))
                else:
                    raw["user"] = resolved.user
                    raw["auth"] = resolved.session
                    raw["session_token"] = token
                    if resolved.extended:
                        cookies.append(session_cookie(settings, token, resolved.session.expires_at))
                    cookies.extend(self._bind_csrf(scope, settings.auth_secret, token))
        if not cookies or scope["type"] == ScopeType.WEBSOCKET:
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                already = headers.getall("set-cookie", [])
                for cookie in cookies:
                    # A handler that set this cookie itself (sign-in, sign-out) wins.
                    if not any(v.startswith(f"{cookie.key}=") for v in already):
                        headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    @staticmethod
    def _bind_csrf(scope: Scope, auth_secret: str, session_token: str) -> list[Cookie]:
        config = csrf_config_of(scope)
        if config is None or scope["type"] != ScopeType.HTTP:
            return []
        expected = bound_token(config, auth_secret, session_token)
        current = _cookie_value(scope, config.cookie_name)
        refuse_foreign_token(scope, current, expected)
        cast(dict[str, Any], scope)[EXPECTED_KEY] = expected
        if scope.get("method") in SAFE_METHODS and current != expected:
            return [install_for_safe_request(scope, config, expected)]
        return []


def session_middleware(app: ASGIApp) -> ASGIApp:
    """For `Litestar(middleware=[...])`."""
    return SessionMiddleware(app)
