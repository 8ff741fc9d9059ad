"""Full pages that are not owned by a feature module: home, and `/counter` for the default counter."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from redis.exceptions import RedisError

from domain.errors import DomainError
from web.errors import VARY
from web.remote import REGISTRY, context_from
from web.templating import HTMLTemplate

DEMO_COUNTER = "default"


@get("/", include_in_schema=False)
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
