"""What a signed-in user's HTML reads besides its own context: preferences and the organization menu.

Pages load it before their handler runs (the app's `before_request`). A remote function's route
waits until it knows what its answer renders, and loads it only when one of those templates (or
anything they include, import or extend) reads it: most partials read neither, so their calls
skip a Redis read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jinja2 import Environment, TemplateNotFound, meta, nodes
from litestar import Request

from web import org_menu, preferences

# A route handler whose `opt` holds this loads page state when its answer renders (web/remote/openapi.py).
ON_RENDER = "page_state_on_render"
# The template names and filters that read page state (web/preferences.py, web/org_menu.py).
READERS = frozenset({"localtime", "user_preferences", "org_menu"})


async def load_page_state(request: Request[Any, Any, Any]) -> None:
    """Before a handler: read the signed-in user's preferences and organization menu once."""
    if request.route_handler.opt.get(ON_RENDER):
        return
    await _load(request)


async def load_for_templates(request: Request[Any, Any, Any], names: Iterable[str]) -> None:
    """Before rendering `names` for a route that deferred it: load page state if they read it."""
    engine = request.app.template_engine
    environment = getattr(engine, "engine", None)
    if not isinstance(environment, Environment) or any(reads_page_state(environment, n) for n in names):
        await _load(request)


async def _load(request: Request[Any, Any, Any]) -> None:
    await preferences.load_preferences(request)
    await org_menu.load_org_menu(request)


def reads_page_state(environment: Environment, name: str) -> bool:
    """Whether template `name`, or one it includes, imports or extends, reads page state.

    A reference the parser cannot follow (a name computed at render time, a missing file) counts
    as reading it: loading what is not needed costs a round trip, missing it shows wrong times.
    Answered once per name, like the templates themselves, unless templates reload.
    """
    if environment.auto_reload:
        return _reads(environment, name)
    known: dict[str, bool] = environment.__dict__.setdefault("_reads_page_state", {})
    found = known.get(name)
    if found is None:
        found = known[name] = _reads(environment, name)
    return found


def _reads(environment: Environment, name: str) -> bool:
    if environment.loader is None:
        return True
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            source = environment.loader.get_source(environment, current)[0]
        except TemplateNotFound:
            return True
        tree = environment.parse(source)
        if any(node.name in READERS for node in tree.find_all((nodes.Name, nodes.Filter))):  # type: ignore[attr-defined]
            return True
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:
                return True
            pending.append(referenced)
    return False
