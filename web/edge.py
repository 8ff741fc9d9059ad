"""The app's one middleware: request id, proxies, origin check, session, CSRF, headers, log and metrics.

One object per route (Litestar builds it into each route's stack; all share one EdgeParts), one
pass over the request's headers, and one wrapper around `send` that touches the response start
(security headers, the request id, the cookies this request must set, the flash cookie's expiry,
whether it is an SSE stream) and otherwise only counts body bytes, so a stream's messages pass
straight through.

Refusals (cross-site origin, foreign or missing CSRF token) raise as Litestar's middleware did:
the app's exception handlers answer them outside this wrapper, which is why web/errors.py puts
the security headers on error responses itself.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, cast

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from settings import Settings
from web import flash
from web.auth.csrf import CSRFCheck
from web.auth.middleware import SessionResolver
from web.headers import first_headers
from web.logging import current_request_id, failed_status, log_request
from web.metrics import EXCLUDED_ROUTES, instruments, request_ended, route_of, stream_opened
from web.request_id import HEADER_BYTES as REQUEST_ID
from web.request_id import SAFE_ID
from web.request_id import SCOPE_KEY as REQUEST_ID_KEY
from web.security import (
    UNSAFE_METHODS,
    EdgePolicy,
    apply_forwarded,
    encoded_headers,
    is_admin_path,
    lower_host,
    origin_refusal,
    refuse_cross_origin,
)

# Headers the edge reads itself (web/headers.py keeps every header's first value).
_ORIGIN, _REFERER, _SITE = b"origin", b"referer", b"sec-fetch-site"


@dataclass(frozen=True)
class EdgeParts:
    """What every route's middleware reads, built once per app rather than once per route."""

    policy: EdgePolicy
    production: bool
    metered: bool
    sessions: SessionResolver
    csrf: CSRFCheck

    @classmethod
    def build(cls, settings: Settings, csrf: CSRFConfig) -> EdgeParts:
        check = CSRFCheck(csrf)
        return cls(
            policy=EdgePolicy.from_settings(settings),
            production=settings.is_production,
            metered=settings.metrics_enabled,
            sessions=SessionResolver(settings, csrf),
            csrf=check,
        )


class EdgeMiddleware:
    """Everything between the server and a route handler, in the order the separate layers ran."""

    def __init__(self, app: ASGIApp, parts: EdgeParts) -> None:
        self.app = app
        self.policy = parts.policy
        self.production = parts.production
        self.metered = parts.metered
        self.sessions = parts.sessions
        self.csrf = parts.csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._other(scope, receive, send)
            return
        started = time.perf_counter()
        raw = cast(dict[str, Any], scope)
        apply_forwarded(scope, self.policy)
        seen = self._read_headers(scope)
        incoming = seen.get(REQUEST_ID, b"").decode("latin-1")
        request_id = raw[REQUEST_ID_KEY] = incoming if SAFE_ID.match(incoming) else os.urandom(16).hex()
        context = current_request_id.set(request_id)
        route = route_of(scope)
        metrics = instruments() if self.metered and route not in EXCLUDED_ROUTES else None
        if metrics is not None:
            metrics.requests_in_progress.inc()
        status = 0
        sent = 0
        streaming = False
        cookies: list[Cookie] = []
        csrf_cookie: bytes | None = None

        async def edge_send(message: Message) -> None:
            nonlocal status, sent, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                self._finish_headers(message, scope, request_id, csrf_cookie, cookies)
                if metrics is not None:
                    streaming = stream_opened(metrics, message)
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        method: str = scope.get("method", "GET")  # type: ignore[assignment]
        try:
            if method in UNSAFE_METHODS:
                reason = origin_refusal(
                    self.policy,
                    site=_text(seen.get(_SITE)),
                    origin=_text(seen.get(_ORIGIN)),
                    referer=_text(seen.get(_REFERER)),
                    scheme=scope.get("scheme", "http"),
                    host=_text(seen.get(b"host")),
                )
                if reason is not None:
                    raise refuse_cross_origin(scope, reason)
            cookies, expected = await self.sessions(scope, b"cookie" in seen)
            if not self.csrf.skips(scope):
                header = seen.get(self.csrf.header)
                csrf_cookie = await self.csrf(
                    scope, receive, header.decode("latin-1") if header else None, expected
                )
            await self.app(scope, receive, edge_send)
        except Exception as exc:
            status = failed_status(scope, status, exc)
            raise
        finally:
            current_request_id.reset(context)
            if metrics is not None:
                request_ended(metrics, method, route, status or 500, started, streaming)
            log_request(scope, status, started, sent)

    def _read_headers(self, scope: Scope) -> dict[bytes, bytes]:
        """Each header's first value, read once and kept for the rest of the request (web/headers.py)."""
        if self.production:
            lower_host(scope)  # Host names are case-insensitive; Litestar's allowed-hosts check is not.
        return first_headers(scope)

    def _finish_headers(
        self,
        message: HTTPResponseStartEvent,
        scope: Scope,
        request_id: str,
        csrf_cookie: bytes | None,
        cookies: list[Cookie],
    ) -> None:
        """Complete a response start: cookies to set, request id, security headers, flash expiry."""
        headers = list(message.get("headers") or ())
        if csrf_cookie is not None:
            headers.append((b"set-cookie", csrf_cookie))
        if cookies:
            already = [v.decode("latin-1") for k, v in headers if k.lower() == b"set-cookie"]
            for cookie in cookies:
                # A handler that set this cookie itself (sign-in, sign-out) wins.
                if not any(v.startswith(f"{cookie.key}=") for v in already):
                    headers.append((b"set-cookie", cookie.to_header(header="").encode("latin-1")))
        present = {name.lower() for name, _ in headers}
        if REQUEST_ID not in present:
            headers.append((REQUEST_ID, request_id.encode("latin-1")))
        security = encoded_headers(is_admin_path(scope.get("path", "/")), self.production)
        headers.extend(pair for pair in security if pair[0] not in present)
        message["headers"] = headers
        flash.expire_shown(message, scope)

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        """WebSocket (and anything else): proxies and the session, nothing per message."""
        if scope["type"] == ScopeType.WEBSOCKET:
            apply_forwarded(scope, self.policy)
            seen = self._read_headers(scope)
            await self.sessions(scope, b"cookie" in seen)
        await self.app(scope, receive, send)


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1").strip() if value is not None else None


def middleware(settings: Settings, csrf: CSRFConfig) -> DefineMiddleware:
    """The one entry of app.py's `Litestar(middleware=[...])`."""
    return DefineMiddleware(EdgeMiddleware, parts=EdgeParts.build(settings, csrf))
