"""The answers of a remote function, per caller: htmx partial, JSON, or post/redirect/get for plain forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from litestar import MediaType, Request, Response
from litestar.response import Redirect, Template

from domain.errors import DomainError, NotSignedIn, ValidationFailed
from web import flash
from web.errors import VARY, Caller, domain_error_response, error_response
from web.templating import HTMLTemplate

if TYPE_CHECKING:
    from web.remote.function import RemoteFunction

AnyRequest = Request[Any, Any, Any]
SIGN_IN_PATH = "/auth/sign-in"
UNSAFE_CHARS = frozenset("\\\r\n\t\x00")


def _origins(request: AnyRequest) -> set[tuple[str, str]]:
    origins = {(request.url.scheme, request.url.netloc)}
    base_url = getattr(getattr(request.app.state, "settings", None), "base_url", None)
    if isinstance(base_url, str):
        parts = urlsplit(base_url)
        origins.add((parts.scheme, parts.netloc))
    return origins


def safe_path(candidate: str | None, request: AnyRequest) -> str | None:
    """`candidate` as a same-origin path (with query), or None for anything that could leave the site."""
    if not candidate or len(candidate) > 2000 or any(c in UNSAFE_CHARS for c in candidate):
        return None
    parts = urlsplit(candidate)
    if (parts.scheme or parts.netloc) and (parts.scheme, parts.netloc) not in _origins(request):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


def back_path(request: AnyRequest, form_next: str | None, default: str) -> str:
    """Where a plain form post returns to: its `next` field, else the same-origin Referer, else `default`."""
    return (
        safe_path(form_next, request)
        or safe_path(request.headers.get("hx-current-url"), request)
        or safe_path(request.headers.get("referer"), request)
        or default
    )


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?next={quote(next_path, safe='/')}"


def _vary(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"Vary": VARY, "Cache-Control": "no-store", **(extra or {})}


def success(
    rf: RemoteFunction[..., Any], request: AnyRequest, caller: Caller, result: object, form_next: str | None
) -> Response[Any]:
    if caller is Caller.HTMX:
        headers = _vary({"HX-Trigger": rf.name} if rf.kind != "query" else None)
        if rf.updates:
            return with_updates(rf, request, result, headers)
        if rf.partial:
            return HTMLTemplate(rf.partial, context=rf.template_context(result), headers=headers)
        if rf.kind != "query":
            return Response(None, status_code=204, headers=headers)
    if caller is Caller.BROWSER:
        if rf.kind != "query":
            response: Response[Any] = Redirect(
                back_path(request, form_next, rf.redirect), status_code=303, headers=_vary()
            )
            if rf.flash:
                flash.flash(request, response, rf.flash, "success")
            return response
        template = rf.page or rf.partial
        if template:
            return HTMLTemplate(template, context=rf.template_context(result), headers=_vary())
    return Response(result, media_type=MediaType.JSON, headers=_vary())


def with_updates(
    rf: RemoteFunction[..., Any], request: AnyRequest, result: object, headers: dict[str, str]
) -> Response[Any]:
    """The main partial (if any), then each of `rf.updates` marked out-of-band: every changed region at once.

    Each update sees the same context as the main partial (the result under `result_as`), plus
    `oob`, so its root element carries `hx-swap-oob="true"` and htmx swaps it in by its id.
    """
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("updates= needs the app's template engine")
    context = Template(rf.partial or "", context=rf.template_context(result)).create_template_context(request)
    parts = [engine.get_template(rf.partial).render(**context)] if rf.partial else []
    parts.extend(
        engine.get_template(f"partials/{name}.html").render(**context, oob=True) for name in rf.updates
    )
    return Response("".join(parts), media_type=MediaType.HTML, headers=headers)


def invalid(
    rf: RemoteFunction[..., Any],
    request: AnyRequest,
    caller: Caller,
    errors: dict[str, str],
    values: dict[str, str],
    message: str | None = None,
) -> Response[Any]:
    """422: the partial (htmx) or page (plain form) re-rendered with `errors`, or {"errors": ...} as JSON."""
    if caller is Caller.JSON:
        body: dict[str, object] = {"errors": errors}
        if message:
            body["error"] = message
        return Response(body, status_code=422, media_type=MediaType.JSON, headers=_vary())
    template = rf.partial if caller is Caller.HTMX else rf.page
    if template is None:
        return error_response(request, 422, message, errors=errors)
    context = rf.template_context(None, errors=errors, values=values, message=message)
    return HTMLTemplate(template, context=context, status_code=422, headers=_vary())


def not_signed_in(
    request: AnyRequest, caller: Caller, message: str, form_next: str | None, is_query: bool
) -> Response[Any]:
    if caller is Caller.JSON:
        body = {"error": message, "sign_in": SIGN_IN_PATH}
        return Response(body, status_code=401, media_type=MediaType.JSON, headers=_vary())
    if is_query and caller is Caller.BROWSER:
        here = urlunsplit(("", "", request.url.path, request.url.query, ""))
        next_path = safe_path(here, request) or "/"
    else:
        next_path = back_path(request, form_next, "/")
    response: Response[Any]
    if caller is Caller.HTMX:
        # htmx follows HX-Redirect only on a response it processes, so this one is a 200.
        response = Response(None, status_code=200, headers=_vary({"HX-Redirect": sign_in_url(next_path)}))
    else:
        response = Redirect(sign_in_url(next_path), status_code=303, headers=_vary())
    flash.flash(request, response, message, "error")
    return response


def failed(
    rf: RemoteFunction[..., Any],
    request: AnyRequest,
    caller: Caller,
    exc: DomainError,
    values: dict[str, str],
    form_next: str | None,
) -> Response[Any]:
    """A DomainError raised by the function (or its rate limit), in the caller's form."""
    if isinstance(exc, NotSignedIn):
        return not_signed_in(request, caller, exc.message, form_next, rf.kind == "query")
    if isinstance(exc, ValidationFailed):
        return invalid(rf, request, caller, exc.field_errors, values, exc.message)
    return domain_error_response(request, exc)
