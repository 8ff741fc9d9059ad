"""Full pages that are not owned by a feature module (home)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:  # type: ignore[type-arg]
    """The landing page: what the starter is, and the live counter demo."""
    return Template("pages/home.html", context={})
