"""`/dev/mail`: the mail the app wrote to DATA_DIR/mail, readable in the browser (development only)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from domain.mail import StoredMail, dev_mail_dir, find_stored, list_stored
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]

# The HTML part is shown in a sandboxed frame: no scripts, its own inline styles, and links that
# open in the page around it (the base target), so a verification link signs in this browser.
MAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; form-action 'none'; "
    "frame-ancestors 'self'"
)


def _stored(request: AnyRequest, name: str) -> tuple[list[StoredMail], StoredMail | None]:
    settings = get_services(request).settings
    if settings.is_production:
        raise NotFoundException()
    directory = dev_mail_dir(settings.data_dir)
    selected = find_stored(directory, name) if name else None
    if name and selected is None:
        raise NotFoundException()
    return list_stored(directory), selected


@get("/dev/mail")
async def dev_mail(request: AnyRequest, name: str = "") -> Template:
    """Development only: the mail the app wrote to DATA_DIR/mail (`name` picks one)."""
    messages, selected = _stored(request, name)
    return HTMLTemplate(
        "pages/dev_mail.html",
        context={"messages": messages, "selected": selected},
        headers={"Cache-Control": "no-store"},
    )


@get("/dev/mail/html")
async def dev_mail_html(request: AnyRequest, name: str) -> Response[str]:
    """Development only: one message's HTML part, shown in a sandboxed frame on /dev/mail."""
    _, selected = _stored(request, name)
    if selected is None or not selected.html:
        raise NotFoundException()
    html = selected.html.replace("<head>", '<head><base target="_top">', 1)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": MAIL_FRAME_CSP,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )
