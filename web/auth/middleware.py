"""Session resolution for the edge middleware (web/edge.py): `scope["user"]` and `scope["auth"]`."""

from __future__ import annotations

import logging
from typing import Any, cast

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.types import Scope

from domain.auth.core import Auth
from domain.auth.sessions import Resolved
from settings import Settings
from web.auth.cookies import cleared_cookie, cookie_name, request_cookies, session_cookie
from web.auth.csrf import SAFE_METHODS, bound_token, install_for_safe_request, refuse_foreign_token

log = logging.getLogger(__name__)


def auth_of(scope: Scope) -> Auth | None:
    app = scope.get("app")
    services = getattr(getattr(app, "state", None), "services", None)
    auth = getattr(services, "auth", None)
    return auth if isinstance(auth, Auth) else None


class SessionResolver:
    """Looks the session up (Redis first, then the database); says which cookies to re-send."""

    def __init__(self, settings: Settings, csrf: CSRFConfig | None) -> None:
        self.settings = settings
        self.csrf = csrf
        self.cookie_name = cookie_name(settings)

    async def __call__(self, scope: Scope, has_cookies: bool) -> tuple[list[Cookie], str | None]:
        """Set `scope["user"]`/`scope["auth"]`; return (cookies to set, the session's CSRF token or None).

        An unsafe request of a signed-in browser whose CSRF cookie is not its session's is refused
        here (PermissionDeniedException), whatever route it is for.
        """
        raw = cast(dict[str, Any], scope)
        raw["user"] = None
        raw["auth"] = None
        auth = auth_of(scope) if has_cookies else None
        token = request_cookies(scope).get(self.cookie_name) if auth is not None else None
        if not token or auth is None:
            return [], None
        settings = self.settings
        try:
            resolved: Resolved | None = await auth.sessions.resolve(token)
        except Exception:  # any database failure: serve the page signed out, not a 500
            log.exception("session lookup failed; treating the request as signed out")
            return [], None
        if resolved is None:
            return [cleared_cookie(settings)], None
        raw["user"] = resolved.user
        raw["auth"] = resolved.session
        raw["session_token"] = token
        cookies: list[Cookie] = []
        if resolved.extended:
            cookies.append(session_cookie(settings, token, resolved.session.expires_at))
        if self.csrf is None or scope["type"] != ScopeType.HTTP:
            return cookies, None
        expected = bound_token(self.csrf, settings.auth_secret, token)
        current = request_cookies(scope).get(self.csrf.cookie_name)
        refuse_foreign_token(scope, current, expected)
        if scope.get("method") in SAFE_METHODS and current != expected:
            cookies.append(install_for_safe_request(scope, self.csrf, expected))
        return cookies, expected
