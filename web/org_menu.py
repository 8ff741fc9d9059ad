"""The header menu's organization switcher: the user's organizations and the active one, per page."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from jinja2 import Environment, pass_context
from litestar import Request

from domain.auth.types import AuthSession, AuthUser
from domain.orgs.members import OrgSummary, chosen_organization, list_organizations

log = logging.getLogger(__name__)
STATE_KEY = "org_menu"


@dataclass(frozen=True, slots=True)
class OrgMenu:
    """The user's organizations and the id of the active one (what `ctx.active_org()` would answer)."""

    active_id: int | None
    orgs: list[OrgSummary]


def _renders_page(request: Request[Any, Any, Any]) -> bool:
    """A full page (browser navigation or an htmx-boosted one): partial swaps have no header to fill."""
    headers = request.headers
    if headers.get("hx-request") == "true":
        return headers.get("hx-boosted") == "true"
    return "text/html" in headers.get("accept", "")


async def load_org_menu(request: Request[Any, Any, Any]) -> None:
    """Before a handler that may render a page for a signed-in user: read their organizations once."""
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    session = request.scope.get("auth")  # type: ignore[typeddict-item]
    if not isinstance(user, AuthUser) or not _renders_page(request):
        return
    try:
        orgs = await list_organizations(user.id)
        # Two queries at most per page: the memberships, and the session's choice among them.
        chosen = await chosen_organization(session.id) if orgs and isinstance(session, AuthSession) else None
        ids = [org.id for org in orgs]
        menu = OrgMenu(active_id=chosen if chosen in ids else (ids[0] if ids else None), orgs=orgs)
    except (sqlite3.Error, asyncpg.PostgresError, OSError):
        log.warning("organization menu unavailable; the page renders without it", exc_info=True)
        return
    request.scope.setdefault("state", {})[STATE_KEY] = menu


@pass_context
def org_menu(context: Mapping[str, Any]) -> OrgMenu | None:
    """In a template: `org_menu()` (None when signed out or not loaded for this response)."""
    request = context.get("request")
    if not isinstance(request, Request):
        return None
    found = request.scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, OrgMenu) else None


def register_template_helpers(environment: Environment) -> None:
    environment.globals["org_menu"] = org_menu
