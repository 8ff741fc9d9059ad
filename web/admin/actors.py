"""The actor inspector at /admin-tools/actors: look an actor up by kind and id, see its state, reset it."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.response import Template

from domain.admin.actors import ActorRef, inspect_actor, known_kinds, reset_actor, resolve_actor
from domain.admin.bridge import current_admin
from domain.auth.events import auth_event
from domain.auth.types import AuthUser
from domain.errors import Forbidden, ValidationFailed
from web.auth.guards import require_user
from web.auth.pages import NO_STORE
from web.remote import Context, form
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
PATH = "/admin-tools/actors"
PAGE = "pages/admin_actors.html"
SIGN_IN = "Please sign in to use the admin tools."


async def check_admin(user: AuthUser, method: str, path: str) -> None:
    """A signed-in admin, checked in the database (not the session cache), like /admin."""
    if await current_admin(user.id) is None:
        auth_event("admin.denied", level=logging.WARNING, user_id=user.id, method=method, path=path)
        raise Forbidden("Only administrators can use the admin tools.")
    auth_event("admin.access", user_id=user.id, method=method, path=path)


async def admin_now(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: `check_admin` for pages."""
    user = require_user(connection, SIGN_IN)
    await check_admin(user, str(connection.scope.get("method", "GET")), connection.url.path)


def _page(context: dict[str, Any], status: int = 200) -> Template:
    base: dict[str, Any] = {
        "kinds": known_kinds(),
        "values": {},
        "errors": {},
        "message": None,
        "snapshot": None,
    }
    return HTMLTemplate(PAGE, context={**base, **context}, status_code=status, headers=NO_STORE)


@get(PATH, guards=[admin_now], tags=["admin"])
async def actor_inspector(
    request: AnyRequest,
    kind: str = "",
    actor_id: Annotated[str, Parameter(query="id")] = "",
    hashed: bool = False,
) -> Template:
    """Admins: an actor's Redis state by kind and id."""
    values = {"kind": kind, "id": actor_id, "hashed": hashed}
    if not kind and not actor_id:
        return _page({"values": values})
    try:
        ref = resolve_actor(kind, actor_id, hash_id=hashed)
    except ValidationFailed as exc:
        return _page({"values": values, "errors": exc.field_errors, "message": exc.message}, status=422)
    snapshot = await inspect_actor(get_services(request).redis, ref)
    return _page({"values": values, "snapshot": snapshot})


class ResetForm(msgspec.Struct):
    kind: str = ""
    id: str = ""


async def _page_view(ctx: Context, base: dict[str, object]) -> dict[str, object]:
    return {**base, "kinds": known_kinds(), "snapshot": None}


@form(path=f"{PATH}/reset", signed_in=SIGN_IN, page=PAGE, view=_page_view)
async def reset_actor_state(ctx: Context, data: ResetForm) -> ActorRef:
    """Admins: delete the actor's state and request records."""
    await check_admin(ctx.require_user(SIGN_IN), "POST", f"{PATH}/reset")
    # The form posts the resolved id, so rate-limit keys are not hashed twice.
    ref = resolve_actor(data.kind, data.id)
    removed = await reset_actor(ctx.services.redis, ref)
    plural = "key" if removed == 1 else "keys"
    ctx.redirect_to(
        f"{PATH}?{urlencode({'kind': ref.kind, 'id': ref.actor_id})}",
        flash=f"Reset {ref.kind} {ref.actor_id}: {removed} {plural} removed.",
    )
    return ref
