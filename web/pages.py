"""Pages and files not owned by a feature module: home, `/counter` (the default counter), the favicon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import File, Template
from redis.exceptions import RedisError

from domain.errors import DomainError
from web.errors import VARY
from web.remote import REGISTRY, context_from
from web.templating import HTMLTemplate

DEMO_COUNTER = "default"
FAVICON = Path(__file__).resolve().parent / "static" / "favicon.ico"


@get("/", tags=["pages"])
async def home(request: Request[Any, Any, Any]) -> Template:
    """The landing page: what the starter is, and the live counter demo (when the app has it)."""
    counter = None
    try:
        get_counter = REGISTRY.get("get_counter")
    except LookupError:  # a project generated without the counter demo
        get_counter = None
    if get_counter is not None:
        try:
            counter = await get_counter(context_from(request), DEMO_COUNTER)
        except (DomainError, RedisError):
            counter = None  # Redis unavailable: the page still renders, without the demo's value
    return HTMLTemplate(
        "pages/home.html",
        context={"counter": counter, "has_counter_demo": get_counter is not None},
        headers={"Vary": VARY, "Cache-Control": "no-store"},
    )


@get(
    "/counter",
    name="default_counter",
    summary="The default counter",
    description="`GET /counter/default`: JSON {count, id, timestamp}, or the page for browsers.",
    tags=["remote"],
    cache=False,
)
async def default_counter(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        get_counter = REGISTRY.get("get_counter")
    except LookupError:  # a project generated without the counter demo
        raise NotFoundException() from None
    return await get_counter.handle(request)


@get("/favicon.ico", include_in_schema=False, cache=False)
async def favicon() -> File:
    """Browsers ask for /favicon.ico whatever the page links; answer with the app's icon, not a 404."""
    return File(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
