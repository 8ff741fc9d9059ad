"""The answers of a remote function, per caller: htmx partial, JSON, or post/redirect/get for plain forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlunsplit

from litestar import MediaType, Request, Response
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect

from domain.errors import DomainError, NotSignedIn, ValidationFailed
from web import flash
from web.errors import VARY, Caller, domain_error_response, error_headers_of, error_response
from web.headers import header
from web.remote.answer import Answer, html_answer, json_answer, redirect_answer
from web.remote.context import Context, RedirectStatus, same_origin_next
from web.remote.spec import RemoteSpec

AnyRequest = Request[Any, Any, Any]
SIGN_IN_PATH = "/auth/sign-in"
OOB = {"oob": True}


def back_path(request: AnyRequest, form_next: str | None, default: str) -> str:
    """Where a plain form post returns to: its `next` field, else the same-origin Referer, else `default`."""
    return (
        same_origin_next(request, form_next)
        or same_origin_next(request, header(request.scope, b"hx-current-url"))
        or same_origin_next(request, header(request.scope, b"referer"))
        or default
    )


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?next={quote(next_path, safe='/')}"


def _vary(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"Vary": VARY, "Cache-Control": "no-store", **(extra or {})}


def with_effects(request: AnyRequest, ctx: Context, response: Response[Any]) -> Response[Any]:
    """`response` with the cookies and flash message the function asked for."""
    for cookie in ctx.effects.cookies:
        response.cookies = [c for c in response.cookies if c.key != cookie.key]
        response.set_cookie(cookie)
    if ctx.effects.flash is not None:
        message, level = ctx.effects.flash
        flash.flash(request, response, message, level)
    return response


def redirect(request: AnyRequest, caller: Caller, to: str, status: RedirectStatus = 303) -> Response[Any]:
    """A 303 for browsers; a full load for htmx (cookies may have changed, so not a swap)."""
    if caller is Caller.HTMX:
        response: Response[Any] = ClientRedirect(to)
        response.headers.update(_vary())
        return response
    return Redirect(to, status_code=status, headers=_vary())


def follow(request: AnyRequest, caller: Caller, ctx: Context, default: str = "/") -> Response[Any]:
    """The redirect a call asked for (`ctx.redirect_to`), with its cookies: for page handlers too."""
    to = ctx.effects.redirect or default
    return with_effects(request, ctx, redirect(request, caller, to, ctx.effects.redirect_status))


def _template(rf: RemoteSpec, caller: Caller, ctx: Context) -> str | None:
    if ctx.effects.template is not None:
        return ctx.effects.template
    return rf.partial if caller is Caller.HTMX else rf.page


def success(
    rf: RemoteSpec,
    request: AnyRequest,
    caller: Caller,
    result: object,
    ctx: Context,
    context: dict[str, object],
) -> Response[Any]:
    if caller is not Caller.JSON and ctx.effects.redirect is not None:
        return follow(request, caller, ctx)
    if caller is Caller.HTMX:
        headers = _vary({"HX-Trigger": rf.name} if rf.kind != "query" else None)
        template = _template(rf, caller, ctx)
        if rf.updates:
            return with_effects(request, ctx, with_updates(rf, template, context, headers))
        if template:
            return with_effects(request, ctx, html_answer(200, headers, context, (template, {})))
        if rf.kind != "query":
            return with_effects(request, ctx, Response(None, status_code=204, headers=headers))
    if caller is Caller.BROWSER:
        if rf.kind != "query" and not rf.stay:
            back = ctx.effects.back or back_path(request, ctx.next, rf.redirect)
            response = redirect_answer(back, _vary())
            notice = ctx.effects.notice or rf.flash
            if notice and ctx.effects.flash is None:
                flash.flash(request, response, notice, "success")
            return with_effects(request, ctx, response)
        template = _template(rf, caller, ctx) or rf.partial
        if template:
            return with_effects(request, ctx, html_answer(200, _vary(), context, (template, {})))
    return with_effects(request, ctx, json_answer(request, 200, _vary(), result))


def with_updates(
    rf: RemoteSpec,
    template: str | None,
    context: dict[str, object],
    headers: dict[str, str],
) -> Answer:
    """The main partial (if any), then each of `rf.updates` marked out-of-band: every changed region at once.

    Each update sees the same context as the main partial (the result under `result_as` and as
    `result`), plus `oob`, so its root element carries `hx-swap-oob="true"` and htmx swaps it in by id.
    """
    main: tuple[tuple[str, Mapping[str, object]], ...] = ((template, {}),) if template else ()
    return html_answer(200, headers, context, *main, *((f"partials/{name}.html", OOB) for name in rf.updates))


def invalid(
    rf: RemoteSpec,
    request: AnyRequest,
    caller: Caller,
    errors: dict[str, str],
    ctx: Context,
    context: dict[str, object],
    message: str | None = None,
    status: int = 422,
    headers: Mapping[str, str] | None = None,
) -> Response[Any]:
    """The partial (htmx) or page (plain form) re-rendered with `errors`, or {"errors": ...} as JSON."""
    if caller is Caller.JSON:
        body: dict[str, object] = {"errors": errors}
        if message:
            body["error"] = message
        return with_effects(request, ctx, json_answer(request, status, _vary(headers), body))
    template = _template(rf, caller, ctx)
    if template is None:
        return with_effects(request, ctx, error_response(request, status, message, errors=errors))
    return with_effects(request, ctx, html_answer(status, _vary(headers), context, (template, {})))


def not_signed_in(
    request: AnyRequest, caller: Caller, message: str, form_next: str | None, is_query: bool
) -> Response[Any]:
    if caller is Caller.JSON:
        body = {"error": message, "sign_in": SIGN_IN_PATH}
        return Response(body, status_code=401, media_type=MediaType.JSON, headers=_vary())
    if is_query and caller is Caller.BROWSER:
        here = urlunsplit(("", "", request.url.path, request.url.query, ""))
        next_path = same_origin_next(request, here) or "/"
    else:
        next_path = back_path(request, form_next, "/")
    response = redirect(request, caller, sign_in_url(next_path))
    flash.flash(request, response, message, "error")
    return response


def shows_errors_in_form(rf: RemoteSpec, ctx: Context) -> bool:
    """Forms (and functions with a view) show any refusal inside themselves; others as an error."""
    return rf.kind == "form" or rf.view is not None or ctx.effects.template is not None


def failed(
    rf: RemoteSpec,
    request: AnyRequest,
    caller: Caller,
    exc: DomainError,
    ctx: Context,
    context: dict[str, object],
) -> Response[Any]:
    """A DomainError raised by the function (or its rate limit), in the caller's form."""
    if isinstance(exc, NotSignedIn):
        return with_effects(
            request, ctx, not_signed_in(request, caller, exc.message, ctx.next, rf.kind == "query")
        )
    if caller is not Caller.JSON and ctx.effects.redirect is not None:
        return follow(request, caller, ctx)
    headers = error_headers_of(exc)
    if isinstance(exc, ValidationFailed) or (caller is not Caller.JSON and shows_errors_in_form(rf, ctx)):
        return invalid(
            rf, request, caller, exc.field_errors, ctx, context, exc.message, exc.status_code, headers
        )
    return with_effects(request, ctx, domain_error_response(request, exc))
