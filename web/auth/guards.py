"""Who is signed in, and guards for pages and remote functions (`require_user`, `signed_in`, `admin_only`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.auth.types import AuthSession, AuthUser
from domain.errors import Forbidden, NotSignedIn
from web.errors import caller_of
from web.remote.responses import not_signed_in

AnyRequest = Request[Any, Any, Any]
SIGN_IN_MESSAGE = "Please sign in to continue."


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    """The signed-in user (set by the session middleware), or None."""
    user = connection.scope.get("user")
    return user if isinstance(user, AuthUser) else None


def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthSession | None:
    session = connection.scope.get("auth")
    return session if isinstance(session, AuthSession) else None


def require_user(connection: ASGIConnection[Any, Any, Any, Any], message: str = SIGN_IN_MESSAGE) -> AuthUser:
    """The signed-in user, or NotSignedIn (a redirect to sign-in, HX-Redirect for htmx, 401 for JSON)."""
    user = current_user(connection)
    if user is None:
        raise NotSignedIn(message)
    return user


def require_session(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[AuthUser, AuthSession]:
    user = require_user(connection)
    session = current_session(connection)
    if session is None:
        raise NotSignedIn(SIGN_IN_MESSAGE)
    return user, session


def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard: `@get(..., guards=[signed_in])`."""
    require_user(connection)


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard: signed-in admins only (others signed in get 403)."""
    if not require_user(connection).is_admin:
        raise Forbidden("Only administrators can open this page.")


def handle_not_signed_in(request: AnyRequest, exc: NotSignedIn) -> Response[Any]:
    """Exception handler: the contract's not-signed-in answer for any page or endpoint."""
    return not_signed_in(request, caller_of(request), exc.message, None, request.method == "GET")
