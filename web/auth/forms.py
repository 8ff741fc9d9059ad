"""Shared plumbing of the auth pages: read a form, answer in the caller's form, redirect after a post."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect, Template

from domain.auth.core import Auth
from domain.errors import DomainError, RateLimited, Unavailable
from web import flash
from web.errors import VARY, Caller, caller_of, retry_after_header
from web.remote.responses import safe_path
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
NO_STORE = {"Vary": VARY, "Cache-Control": "no-store"}
SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "_csrf_token", "token"})


def auth_service(request: AnyRequest) -> Auth:
    auth = getattr(get_services(request), "auth", None)
    if not isinstance(auth, Auth):
        raise Unavailable("Sign-in is starting up; try again in a moment.")
    return auth


async def read_form(request: AnyRequest) -> dict[str, str]:
    """The posted fields as strings (files and repeated fields ignored)."""
    form = await request.form()
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in values:
            values[key] = value
    return values


def echo(values: Mapping[str, str]) -> dict[str, str]:
    """What a re-rendered form may show again: never passwords or tokens."""
    return {k: v for k, v in values.items() if k not in SECRET_FIELDS}


def client_ip(request: AnyRequest) -> str:
    return request.client.host if request.client else "unknown"


def user_agent(request: AnyRequest) -> str:
    return request.headers.get("user-agent", "")[:512]


def next_path(request: AnyRequest, candidate: str | None, default: str = "/") -> str:
    """`candidate` if it is a same-origin path (never `//evil.com` or `https://evil.com`), else `default`."""
    path = safe_path(candidate, request)
    if path is None or path.startswith("/auth/"):
        return default
    return path


@dataclass(frozen=True, slots=True)
class Templates:
    """A page and the partial it includes (the htmx answer)."""

    page: str
    partial: str


def render(
    request: AnyRequest,
    templates: Templates,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Template:
    """The partial for htmx, the full page otherwise: both from the same context."""
    template = templates.partial if caller_of(request) is Caller.HTMX else templates.page
    ctx = {"errors": {}, "values": {}, "message": None, "notice": None, **context}
    return HTMLTemplate(template, context=ctx, status_code=status, headers={**NO_STORE, **(headers or {})})


def render_error(
    request: AnyRequest, exc: DomainError, templates: Templates, context: dict[str, Any]
) -> Template:
    """A DomainError shown inside the form it came from, with its status (422, 429 + Retry-After, ...)."""
    headers = retry_after_header(exc.retry_after) if isinstance(exc, RateLimited) else None
    ctx = {**context, "errors": exc.field_errors, "message": exc.message}
    return render(request, templates, ctx, status=exc.status_code, headers=headers)


def redirect(request: AnyRequest, to: str, *, notice: str | None = None) -> Response[Any]:
    """After a successful post: 303 for browsers, HX-Redirect for htmx (a full load, as cookies changed)."""
    response: Response[Any]
    if caller_of(request) is Caller.HTMX:
        response = Response(None, status_code=200, headers={**NO_STORE, "HX-Redirect": to})
    else:
        response = Redirect(to, status_code=303, headers=NO_STORE)
    if notice:
        flash.flash(request, response, notice, "success")
    return response
