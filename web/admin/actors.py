"""The actor inspector at /admin-tools/actors: look an actor up by kind and id, see its state, reset it."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.response import Template

from domain.admin.actors import ActorRef, inspect_actor, known_kinds, reset_actor, resolve_actor
from domain.admin.bridge import current_admin
from domain.auth.events import auth_event
from domain.errors import Forbidden, ValidationFailed
from web.auth.forms import NO_STORE, read_form, redirect
from web.auth.guards import require_user
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
PATH = "/admin-tools/actors"
PAGE = "pages/admin_actors.html"


async def admin_now(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a signed-in admin, checked in the database (not the session cache), like /admin."""
    user = require_user(connection, "Please sign in to use the admin tools.")
    method, path = connection.scope.get("method", "GET"), connection.url.path
    if await current_admin(user.id) is None:
        auth_event("admin.denied", level=logging.WARNING, user_id=user.id, method=method, path=path)
        raise Forbidden("Only administrators can use the admin tools.")
    auth_event("admin.access", user_id=user.id, method=method, path=path)


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


@post(f"{PATH}/reset", guards=[admin_now], status_code=200, tags=["admin"])
async def reset(request: AnyRequest) -> Response[Any] | Template:
    """Admins: form `kind`, `id`: delete the actor's state and request records."""
    form = await read_form(request)
    try:
        # The form posts the resolved id, so rate-limit keys are not hashed twice.
        ref: ActorRef = resolve_actor(form.get("kind", ""), form.get("id", ""))
    except ValidationFailed as exc:
        return _page({"values": form, "errors": exc.field_errors, "message": exc.message}, status=422)
    removed = await reset_actor(get_services(request).redis, ref)
    plural = "key" if removed == 1 else "keys"
    return redirect(
        request,
        f"{PATH}?kind={ref.kind}&id={ref.actor_id}",
        notice=f"Reset {ref.kind} {ref.actor_id}: {removed} {plural} removed.",
    )
