"""`/dev/mail`: the mail the app wrote to DATA_DIR/mail, readable in the browser (development only)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from domain.mail import dev_mail_dir, find_stored, list_stored
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]


@get("/dev/mail")
async def dev_mail(request: AnyRequest, name: str = "") -> Template:
    """Development only: the mail the app wrote to DATA_DIR/mail (`name` picks one)."""
    settings = get_services(request).settings
    if settings.is_production:
        raise NotFoundException()
    directory = dev_mail_dir(settings.data_dir)
    selected = find_stored(directory, name) if name else None
    if name and selected is None:
        raise NotFoundException()
    return HTMLTemplate(
        "pages/dev_mail.html",
        context={"messages": list_stored(directory), "selected": selected},
        headers={"Cache-Control": "no-store"},
    )
