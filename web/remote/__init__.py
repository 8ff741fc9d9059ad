"""Remote functions: typed `async def`s served over htmx, JSON and plain forms (see DESIGN.md's contract)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from web.remote.context import Context, context_from
from web.remote.declare import REGISTRY, Registry, command, form, query
from web.remote.function import RemoteFunction
from web.remote.helpers import RemoteHelpers, register_template_helpers
from web.remote.params import InvalidInput
from web.remote.ratelimit import RateLimit

__all__ = [
    "REGISTRY",
    "Context",
    "InvalidInput",
    "RateLimit",
    "Registry",
    "RemoteFunction",
    "RemoteHelpers",
    "command",
    "context_from",
    "form",
    "query",
    "register_template_helpers",
    "route_handlers",
]


def route_handlers() -> list[HTTPRouteHandler]:
    """A route handler for every remote function the app declares (importing `web.functions` does that)."""
    import web.functions  # noqa: F401  (declaring is a side effect of importing)

    return REGISTRY.route_handlers()
