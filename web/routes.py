"""Every route handler the app serves, gathered in one list for app.py."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from web import health, live, pages, remote
from web.auth import auth_routes
from web.auth.oauth import oauth_routes


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        health.healthz,
        health.readyz,
        health.ping,
        pages.home,
        pages.favicon,
        *live.route_handlers(),
        *remote.route_handlers(),
        *auth_routes(),
        *oauth_routes(),
    ]
