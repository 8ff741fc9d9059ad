"""The admin area: piccolo-admin at /admin (behind the app's sign-in) and the actor inspector."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from settings import Settings
from web.admin import actors
from web.admin.mount import admin_mount


def admin_routes(settings: Settings) -> list[ControllerRouterHandler]:
    """Route handlers of the admin area for app.py; builds piccolo-admin once.

    The inspector's reset form is a remote function (`actors.reset_actor_state`), mounted with the others.
    """
    return [admin_mount(settings), actors.actor_inspector]
