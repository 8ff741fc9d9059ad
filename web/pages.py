"""Pages and files not owned by a feature module: home (with the sections features add to it), the favicon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.response import File
from redis.exceptions import RedisError

from domain.errors import DomainError
from web.errors import VARY
from web.remote import REGISTRY, context_from
from web.remote.answer import Answer, html_answer

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.ico"


@dataclass(frozen=True)
class HomeSection:
    """A feature's part of the home page: `partial` shows what the public query `query` answers."""

    partial: str
    query: str


@dataclass(frozen=True)
class ShownSection:
    """A section as the home template gets it: `value` is None when the query failed (Redis down, say)."""

    partial: str
    value: object


HOME_SECTIONS: list[HomeSection] = []
_HOME_HEADERS = {"Vary": VARY, "Cache-Control": "no-store"}


def home_section(partial: str, *, query: str) -> HomeSection:
    """Show `partial` on the home page with the answer of remote query `query` at its defaults, as `value`."""
    section = HomeSection(partial=partial, query=query)
    if section not in HOME_SECTIONS:
        HOME_SECTIONS.append(section)
    return section


@get("/", tags=["pages"])
async def home(request: Request[Any, Any, Any]) -> Answer:
    """The landing page: what the starter is, and each section a feature adds (e.g. a live demo)."""
    ctx = context_from(request)
    sections = []
    for section in HOME_SECTIONS:
        try:
            value = await REGISTRY.get(section.query)(ctx)
        except (DomainError, RedisError):
            value = None  # Redis unavailable: the page still renders, the section says so
        sections.append(ShownSection(partial=section.partial, value=value))
    # The remote functions' answer: the loaded template and encoded headers are reused, not rebuilt.
    return html_answer(200, _HOME_HEADERS, {"home_sections": sections}, ("pages/home.html", {}))


@get("/favicon.ico", include_in_schema=False, cache=False)
async def favicon() -> File:
    """Browsers ask for /favicon.ico whatever the page links; answer with the app's icon, not a 404."""
    return File(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
