"""Error responses in the caller's form (htmx partial, JSON or full page) and the app's exception handlers."""

from __future__ import annotations

import logging
import math
from enum import Enum
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ClusterDownError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.errors import DomainError, RateLimited, Unavailable
from web import flash
from web.headers import first_headers
from web.request_id import request_id_of
from web.security import scope_security_headers
from web.templating import HTMLTemplate

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]

ERROR_PAGE = "pages/error.html"
ERROR_PARTIAL = "partials/error.html"
# Where htmx puts an error that is not about one component (see partials/flashes.html).
HTMX_ERROR_TARGET = "#flashes"
# Responses differ by these request headers; caches must key on them.
VARY = "HX-Request, Accept"
GENERIC_500 = "Something went wrong on our side. Please try again."

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in to continue.",
    403: "You are not allowed to do that.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    409: "That clashes with the current state. Reload and try again.",
    413: "That request is too large.",
    422: "Some fields need fixing.",
    429: "Too many requests. Please wait a moment and try again.",
    500: GENERIC_500,
    503: "The service is temporarily unavailable. Please try again shortly.",
}


class Caller(Enum):
    """Who is asking, which decides the form of every answer."""

    HTMX = "htmx"
    JSON = "json"
    BROWSER = "browser"


def caller_of(request: AnyRequest) -> Caller:
    """htmx (not boosted), a JSON client, or a browser doing plain navigation and form posts."""
    headers = first_headers(request.scope)
    if headers.get(b"hx-request") == b"true" and headers.get(b"hx-boosted") != b"true":
        return Caller.HTMX
    accept = headers.get(b"accept", b"")
    if accept and b"*/*" not in accept:
        best = request.accept.best_match([MediaType.HTML, MediaType.JSON], default=MediaType.HTML)
        return Caller.JSON if best == MediaType.JSON else Caller.BROWSER
    if headers.get(b"content-type", b"").startswith(b"application/json"):
        return Caller.JSON
    return Caller.BROWSER


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_headers(request: AnyRequest, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Vary": VARY, "X-Request-ID": request_id_of(request.scope), "Cache-Control": "no-store"}
    # Errors raised before a route's middleware sends (no route, the edge's own refusals) go out
    # past web/edge.py's send wrapper, so they carry the security headers themselves.
    headers.update(scope_security_headers(request.scope))
    headers.update(extra or {})
    return headers


def error_response(
    request: AnyRequest,
    status: int,
    message: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """`message` (and per-field `errors`) as a partial, JSON or a full error page, with `status`."""
    message = message or MESSAGES.get(status, status_phrase(status))
    errors = dict(errors or {})
    caller = caller_of(request)
    all_headers = error_headers(request, headers)
    if caller is Caller.JSON:
        body: dict[str, object] = {"error": message}
        if errors:
            body["errors"] = errors
        if status >= HTTP_500_INTERNAL_SERVER_ERROR:
            body["request_id"] = all_headers["X-Request-ID"]
        return Response(body, status_code=status, headers=all_headers, media_type=MediaType.JSON)
    context = {
        "status": status,
        "title": status_phrase(status),
        "message": message,
        "errors": errors,
        "request_id": all_headers["X-Request-ID"],
    }
    if caller is Caller.HTMX:
        all_headers.setdefault("HX-Retarget", HTMX_ERROR_TARGET)
        all_headers.setdefault("HX-Reswap", "innerHTML")
        return HTMLTemplate(ERROR_PARTIAL, context=context, status_code=status, headers=all_headers)
    # The page's layout shows waiting flash messages; an error answered outside web/edge.py's send
    # wrapper would otherwise leave their cookie to show them again.
    shown = [flash.expired_cookie()] if request.cookies.get(flash.COOKIE) else []
    return HTMLTemplate(ERROR_PAGE, context=context, status_code=status, headers=all_headers, cookies=shown)


def retry_after_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def error_headers_of(exc: DomainError) -> dict[str, str]:
    """The headers a DomainError's answer carries, whatever its form: Retry-After when rate limited."""
    return retry_after_header(exc.retry_after) if isinstance(exc, RateLimited) else {}


def domain_error_response(request: AnyRequest, exc: DomainError) -> Response[Any]:
    headers = error_headers_of(exc)
    return error_response(request, exc.status_code, exc.message, errors=exc.field_errors, headers=headers)


def validation_errors(exc: ValidationException) -> dict[str, str]:
    """Litestar's own validation failures (non-remote handlers) as {field: message}."""
    errors: dict[str, str] = {}
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or "request")
            errors.setdefault(key, str(item.get("message") or "Invalid value"))
    return errors


def handle_domain_error(request: AnyRequest, exc: DomainError) -> Response[Any]:
    return domain_error_response(request, exc)


def handle_validation(request: AnyRequest, exc: ValidationException) -> Response[Any]:
    return error_response(request, 422, MESSAGES[422], errors=validation_errors(exc))


def handle_http_exception(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("http %s request_id=%s: %s", status, request_id_of(request.scope), exc.detail)
        return error_response(request, status, MESSAGES.get(status), headers=headers)
    message = MESSAGES.get(status)
    if isinstance(exc, PermissionDeniedException) and "CSRF" in exc.detail:
        message = "This form has expired or came from another site. Reload the page and try again."
    elif isinstance(exc, NotFoundException | NotAuthorizedException):
        message = MESSAGES[status]
    return error_response(request, status, message, headers=headers)


# Redis unreachable: connection loss (Sentinel's MasterNotFoundError is one), timeouts, a cluster
# without quorum. Answered 503 with Retry-After; redis-py reconnects by itself on a later request.
REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ClusterDownError)


def handle_redis_down(request: AnyRequest, exc: Exception) -> Response[Any]:
    """Redis unreachable (after redis-py's own retries): a 503 the caller may retry, not a 500."""
    log.warning(
        "redis unavailable request_id=%s: %s: %s", request_id_of(request.scope), type(exc).__name__, exc
    )
    unavailable = Unavailable("This needs a service that is down right now. Please try again shortly.")
    return error_response(request, 503, unavailable.message, headers=retry_after_header(5))


def handle_unexpected(request: AnyRequest, exc: Exception) -> Response[Any]:
    log.exception("unhandled error request_id=%s", request_id_of(request.scope), exc_info=exc)
    return error_response(request, 500, GENERIC_500)


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers for app.py's `Litestar(exception_handlers=...)`: every error in the caller's form."""
    return {
        DomainError: handle_domain_error,
        ValidationException: handle_validation,
        HTTPException: handle_http_exception,
        **dict.fromkeys(REDIS_DOWN, handle_redis_down),
        Exception: handle_unexpected,
    }
