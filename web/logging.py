"""Structured request log lines (one JSON object per request, with its request id) and auth events."""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.auth.events import auth_event
from domain.errors import DomainError
from web.request_id import request_id_of

access_log = logging.getLogger("remote_stack.access")

# The id of the request being served, for log lines written deeper down (auth events, errors).
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# Field names whose values never reach a log line, whatever a caller passes.
SECRET_WORDS = ("password", "secret", "token", "cookie", "authorization", "csrf", "code")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/ping"})


def _status_of(exc: BaseException) -> int:
    """The status the app's exception handlers give `exc` (it escaped a middleware, not a handler)."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, DomainError):
        return exc.status_code
    return 500


def _user_id(scope: Scope) -> object:
    user = scope.get("user")  # type: ignore[misc]
    return getattr(user, "id", None)


def request_line(scope: Scope, status: int, duration_s: float, sent: int) -> str:
    """One request as a JSON object (keys in a fixed order so lines diff and grep well)."""
    client = scope.get("client")
    fields: dict[str, Any] = {
        "event": "request",
        "request_id": request_id_of(scope),
        "method": scope.get("method", "WS"),
        "path": scope.get("path", ""),
        "route": scope.get("path_template") or None,  # type: ignore[misc]
        "status": status,
        "ms": round(duration_s * 1000, 2),
        "bytes": sent,
        "client": client[0] if client else None,
        "user_id": _user_id(scope),
        "htmx": any(k == b"hx-request" for k, _ in scope.get("headers", ())),
    }
    return json.dumps({k: v for k, v in fields.items() if v is not None}, default=str)


def failed_status(scope: Scope, status: int, exc: Exception) -> int:
    """The status to log for a request that raised `exc` (`status`: the one sent, 0 if none)."""
    if status:
        # The response had started, so no error handler could answer: the client sees a cut
        # connection and this is the only trace of why (with the original exception).
        access_log.error(
            "request failed mid-response request_id=%s path=%s",
            request_id_of(scope),
            scope.get("path"),
            exc_info=exc.__cause__ or exc,
        )
    return status or _status_of(exc)


def log_request(scope: Scope, status: int, started: float, sent: int) -> None:
    """The access log line of a request that began at perf_counter() `started`."""
    quiet = scope.get("path") in QUIET_PATHS and status < 400
    level = logging.DEBUG if quiet else logging.WARNING if status >= 500 else logging.INFO
    if access_log.isEnabledFor(level):
        access_log.log(level, request_line(scope, status, time.perf_counter() - started, sent))


class RequestLogMiddleware:
    """The access log alone, for apps without web/edge.py (tests compose it so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        token = current_request_id.set(request_id_of(scope))
        status = 0
        sent = 0

        async def logged_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        except Exception as exc:
            status = failed_status(scope, status, exc)
            raise
        finally:
            current_request_id.reset(token)
            log_request(scope, status, started, sent)


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def log_auth_event(event: str, **fields: object) -> None:
    """An auth event (`sign_in.success`, `reset.requested`, ...) with the current request id; never secrets.

    Fields named like secrets (password, token, cookie, csrf, code, ...) are dropped, not masked,
    so a caller cannot leak one by mistake.
    """
    clean = {k: v for k, v in fields.items() if not _is_secret(k)}
    request_id = current_request_id.get()
    if request_id is not None and "request_id" not in clean:
        clean["request_id"] = request_id
    auth_event(event, **cast(dict[str, Any], clean))
