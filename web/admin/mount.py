"""`/admin`: piccolo-admin mounted behind the app's own sign-in, through the admin bridge.

Every request is checked here first: signed out goes to sign-in, signed in but not an admin (now,
per the database) gets 403. For an admin, the bridge's piccolo-admin session token is put into the
request as piccolo's `id` cookie (whatever the browser sent under that name is dropped), so
piccolo-admin's own authentication admits them without a second password.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Request, Response, asgi
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import MediaType
from litestar.handlers import ASGIRouteHandler
from litestar.response import Redirect
from litestar.types import Message, Receive, Scope, Send

from domain.admin.bridge import admin_session_token, close_admin_access, current_admin
from domain.auth.events import auth_event
from domain.auth.types import AuthUser
from domain.errors import Forbidden, NotFound, NotSignedIn
from settings import Settings
from web.admin.scope_keys import ADMIN_SCOPE_KEY, SERVICES_SCOPE_KEY
from web.auth.cookies import cleared_cookie
from web.auth.guards import handle_not_signed_in
from web.errors import domain_error_response
from web.security import security_headers

MOUNT_PATH = "/admin"
# piccolo_api's SessionsAuthBackend reads its session token from this cookie.
PICCOLO_COOKIE = "id"
SIGN_IN_MESSAGE = "Please sign in to open the admin panel."
NOT_ADMIN_MESSAGE = "Only administrators can open the admin panel."
# piccolo-admin's own password endpoints: our admins have no piccolo password to use or change.
REFUSED = {
    "/public/login/": "Sign in through the app at /auth/sign-in; the admin panel has no separate login.",
    "/api/change-password/": "Change your password on your account page, /account.",
}
LOGOUT = "/public/logout/"
# piccolo-admin's endpoint for one user row (edits invalidate the app's cached copy of that user).
USER_ROW = re.compile(r"/api/tables/users/(\d+)/?")

AnyRequest = Request[Any, Any, Any]
# piccolo-admin is a Starlette (FastAPI) app; its ASGI types are not Litestar's, only compatible.
PanelApp = Callable[..., Awaitable[None]]


def with_cookie(headers: list[tuple[bytes, bytes]], name: str, value: str) -> list[tuple[bytes, bytes]]:
    """`headers` with every cookie called `name` replaced by one holding `value` (one Cookie header)."""
    kept: list[bytes] = []
    others: list[tuple[bytes, bytes]] = []
    prefix = name.encode() + b"="
    for key, raw in headers:
        if key.lower() != b"cookie":
            others.append((key, raw))
            continue
        kept.extend(p.strip() for p in raw.split(b";") if p.strip() and not p.strip().startswith(prefix))
    kept.append(prefix + value.encode())
    return [*others, (b"cookie", b"; ".join(kept))]


async def _respond(
    response: Response[Any], request: AnyRequest, scope: Scope, receive: Receive, send: Send
) -> None:
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)


def _json(status: int, message: str) -> Response[Any]:
    return Response(
        {"error": message, "sign_in": "/auth/sign-in"},
        status_code=status,
        media_type=MediaType.JSON,
        headers={"Cache-Control": "no-store"},
    )


class AdminBridge:
    """The ASGI app behind the `/admin` mount; `panel` is piccolo-admin, built on first use.

    piccolo-admin brings FastAPI and builds a schema per table: about 0.4 s of imports and work
    and tens of MB per worker that only the admin pages need. Building it when the first admin
    request arrives keeps that off every worker's start (and out of workers no admin visits).
    """

    def __init__(self, settings: Settings, build: Callable[[Settings], PanelApp] | None = None) -> None:
        self.settings = settings
        self._build = build
        self._panel: PanelApp | None = None

    @property
    def panel(self) -> PanelApp:
        if self._panel is None:
            if self._build is None:
                from web.admin.panel import build_panel

                self._build = build_panel
            self._panel = self._build(self.settings)
        return self._panel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope, receive, self._with_admin_headers(send))

    def _with_admin_headers(self, send: Send) -> Send:
        """The admin area's security headers (CSP allowing piccolo-admin's inline styles, framing itself).

        The app's before_send hook picks headers by `scope["path"]`, which Litestar has already cut
        down to the part below the mount; setting them here first keeps them right (it fills gaps only).
        """
        extra = security_headers(f"{MOUNT_PATH}/", self.settings.is_production)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        return send_with_headers

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = scope["path"] or "/"  # the path below /admin (Litestar strips the mount prefix)
        # Some servers put the query into raw_path too.
        raw_path = scope.get("raw_path") or b""
        if raw_path.split(b"?", 1)[0] == MOUNT_PATH.encode():
            # piccolo-admin's page loads its assets relative to /admin/, so the slash matters.
            query = scope.get("query_string", b"").decode("latin-1")
            await _respond(
                Redirect(f"{MOUNT_PATH}/" + (f"?{query}" if query else ""), status_code=308),
                Request(scope, receive),
                scope,
                receive,
                send,
            )
            return
        outer = cast(Scope, {**scope, "path": MOUNT_PATH + sub})
        request: AnyRequest = Request(outer, receive)
        if not sub.startswith("/"):
            # Litestar matches a mount as a plain prefix, so /adminx lands here too: not ours.
            await _respond(
                domain_error_response(request, NotFound("There is nothing here.")),
                request,
                outer,
                receive,
                send,
            )
            return
        is_api = sub.startswith(("/api/", "/public/"))
        user = scope.get("user")
        session_token = cast(dict[str, Any], scope).get("session_token")
        if not isinstance(user, AuthUser) or not isinstance(session_token, str):
            response = (
                _json(401, SIGN_IN_MESSAGE)
                if is_api
                else handle_not_signed_in(request, NotSignedIn(SIGN_IN_MESSAGE))
            )
            await _respond(response, request, outer, receive, send)
            return
        admin = await current_admin(user.id)
        method = str(scope.get("method", "GET"))
        if admin is None:
            auth_event("admin.denied", level=logging.WARNING, user_id=user.id, method=method, path=sub)
            # A demoted admin: their piccolo-admin user and sessions go now, not at expiry.
            await close_admin_access(user.id)
            response = (
                _json(403, NOT_ADMIN_MESSAGE)
                if is_api
                else domain_error_response(request, Forbidden(NOT_ADMIN_MESSAGE))
            )
            await _respond(response, request, outer, receive, send)
            return
        if sub == "/" or method not in ("GET", "HEAD"):
            # The panel's page and every write; its many asset and list reads would drown them.
            auth_event("admin.access", user_id=user.id, method=method, path=sub)
        if sub in REFUSED:
            await _respond(_json(403, REFUSED[sub]), request, outer, receive, send)
            return
        token = await admin_session_token(admin, session_token, self.settings.auth_secret)
        inner = cast(dict[str, Any], dict(scope))
        inner["headers"] = with_cookie(list(scope.get("headers", [])), PICCOLO_COOKIE, token)
        inner[SERVICES_SCOPE_KEY] = getattr(getattr(scope.get("app"), "state", None), "services", None)
        inner[ADMIN_SCOPE_KEY] = admin.user_id
        inner["root_path"] = scope.get("root_path", "") + MOUNT_PATH
        inner["path"] = inner["root_path"] + sub
        reply = send
        if sub == LOGOUT and scope.get("method") == "POST":
            reply = self._signing_out(send, session_token, inner)
        edited = USER_ROW.fullmatch(sub) if method in ("PATCH", "PUT") else None
        if edited is None:
            await self.panel(inner, receive, reply)
            return
        auth = getattr(inner[SERVICES_SCOPE_KEY], "auth", None)
        user_id = int(edited[1])

        async def send_after_invalidating(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400 and auth is not None:
                # The row is written once piccolo starts answering (a pre-patch hook runs too early:
                # a request in between would cache the old row again). The cached user goes, and
                # every process is told, before the admin's answer leaves.
                await auth.sessions.invalidate_user(user_id)
            await reply(message)

        await self.panel(inner, receive, send_after_invalidating)

    def _signing_out(
        self, send: Send, session_token: str, scope: dict[str, Any]
    ) -> Callable[[Message], Awaitable[None]]:
        """piccolo-admin's "log out" signs out of the app too (its session is the app's session)."""
        services = scope.get(SERVICES_SCOPE_KEY)
        auth = getattr(services, "auth", None)

        async def send_signing_out(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                if auth is not None:
                    await auth.sessions.revoke_token(session_token)
                headers = MutableScopeHeaders.from_message(message)
                headers.add("set-cookie", cleared_cookie(self.settings).to_header(header=""))
            await send(message)

        return send_signing_out


def admin_mount(settings: Settings) -> ASGIRouteHandler:
    """The `/admin` route handler; piccolo-admin is built on the first admin request, once per process."""
    bridge = AdminBridge(settings)

    @asgi(MOUNT_PATH, is_mount=True, copy_scope=True, include_in_schema=False)
    async def admin_panel(scope: Scope, receive: Receive, send: Send) -> None:
        await bridge(scope, receive, send)

    return admin_panel
