"""Signed-out pages (GET): sign up, sign in, follow a mailed link, resend, forgot and reset password."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from domain.auth import flows, recovery
from domain.auth.device_cookie import LIFETIME, issue_device_cookie
from domain.errors import DomainError, ValidationFailed
from web.auth.cookies import cleared_cookie, device_cookie, read_binding, session_cookie
from web.errors import VARY, caller_of
from web.remote import Context, context_from
from web.remote.context import same_origin_next
from web.remote.responses import follow
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
CSRF_COOKIE = "csrftoken"
# The browser that signed up holds this secret; its confirmation link then signs in there.
SIGN_UP_BINDING = "signup_binding"
SIGN_UP_BINDING_MAX_AGE_S = 24 * 3600
# The browser a sign-in waiting for its second factor is held for (domain/auth/second_factor.py).
SIGN_IN_BINDING = "signin_binding"
SIGN_UP = "pages/auth/sign_up.html"
SIGN_IN = "pages/auth/sign_in.html"
TWO_FACTOR = "pages/auth/two_factor.html"
TWO_FACTOR_PATH = "/auth/two-factor"
FORGOT = "pages/auth/forgot_password.html"
RESET = "pages/auth/reset_password.html"
RESEND = "pages/auth/resend_verification.html"
VERIFY = "pages/auth/verify.html"
NO_STORE = {"Vary": VARY, "Cache-Control": "no-store"}


def page(template: str, context: dict[str, Any], status: int = 200) -> Template:
    """A full auth page; the form partials it includes read `errors`, `values`, `message`, `notice`."""
    base: dict[str, Any] = {"errors": {}, "values": {}, "message": None, "notice": None}
    return HTMLTemplate(template, context={**base, **context}, status_code=status, headers=NO_STORE)


def after_sign_in(request: AnyRequest, candidate: str | None, default: str = "/") -> str:
    """Where a sign-in goes: a same-origin path that is not itself an auth page, else `default`."""
    path = same_origin_next(request, candidate)
    return default if path is None or path.startswith("/auth/") else path


def sign_in_target(ctx: Context, default: str = "/") -> str:
    """`after_sign_in` for a remote function's `next` field (already reduced to a same-origin path)."""
    return default if ctx.next is None or ctx.next.startswith("/auth/") else ctx.next


async def complete_sign_in(ctx: Context, signed: flows.SignedIn, target: str) -> None:
    """Send the browser to `target` with the new session's cookie (also for links and OAuth callbacks).

    Any session the browser already had ends, and the CSRF cookie is dropped so the next page
    mints a token for the new session. The browser becomes a known device of the account.
    """
    auth = ctx.services.require_auth()
    settings = ctx.services.settings
    if ctx.session_token is not None:
        await flows.sign_out(auth, ctx.session_token)
    ctx.set_cookie(session_cookie(settings, signed.token, signed.session.expires_at))
    known = await issue_device_cookie(auth, signed.user.id)
    ctx.set_cookie(device_cookie(settings, known, int(LIFETIME.total_seconds())))
    ctx.delete_cookie(CSRF_COOKIE)
    ctx.redirect_to(target, flash=f"Welcome back, {signed.user.name}.")


def end_browser_session(ctx: Context) -> None:
    """Drop this browser's session cookie and CSRF token (its session has ended)."""
    ctx.set_cookie(cleared_cookie(ctx.services.settings))
    ctx.delete_cookie(CSRF_COOKIE)


@get("/auth/sign-up")
async def sign_up_page(request: AnyRequest) -> Response[Any]:
    """The sign-up form."""
    ctx = context_from(request)
    if ctx.user is not None:
        return follow(request, caller_of(request), ctx, "/")
    return page(SIGN_UP, {})


@get("/auth/sign-in")
async def sign_in_page(request: AnyRequest, next: str | None = None) -> Response[Any]:
    """The sign-in form; `next` is where a successful sign-in goes."""
    ctx = context_from(request)
    if ctx.user is not None:
        return follow(request, caller_of(request), ctx, after_sign_in(request, next))
    return page(SIGN_IN, {"next": after_sign_in(request, next, "")})


@get(TWO_FACTOR_PATH)
async def two_factor_page(request: AnyRequest, next: str | None = None) -> Response[Any]:
    """The sign-in's second step: a code from the authenticator app or a backup code."""
    ctx = context_from(request)
    if ctx.user is not None:
        return follow(request, caller_of(request), ctx, after_sign_in(request, next))
    return page(TWO_FACTOR, {"next": after_sign_in(request, next, "")})


@get("/auth/verify")
async def verify(request: AnyRequest, token: str = "") -> Response[Any]:
    """Follow an emailed confirmation link (sign-up or email change).

    A sign-up link opened in the browser that signed up signs in; anywhere else it asks for the
    password chosen at sign-up (sign-in form, email filled in) before the address is confirmed.
    """
    ctx = context_from(request)
    auth = ctx.services.require_auth()
    try:
        followed = await flows.follow_link(
            auth,
            token,
            binding=read_binding(request.cookies, ctx.services.settings, SIGN_UP_BINDING),
            ip=ctx.address,
            user_agent=ctx.user_agent,
            current=ctx.session,
        )
    except DomainError as exc:
        return page(VERIFY, {"ok": False, "message": exc.message}, status=link_failed_status(exc))
    if followed.signed_in is not None:
        await complete_sign_in(ctx, followed.signed_in, "/")
        return follow(request, caller_of(request), ctx)
    if followed.needs_password:
        return page(SIGN_IN, confirm_context(followed.email, token))
    if followed.reset_token:
        notice = "Your email address is confirmed. Choose a password to finish."
        ctx.redirect_to(f"/auth/reset-password?token={followed.reset_token}", flash=notice)
        return follow(request, caller_of(request), ctx)
    return page(VERIFY, {"ok": True, "email": followed.email, "signed_in": ctx.user is not None})


def link_failed_status(exc: DomainError) -> int:
    """A dead or malformed link is a bad request (400), not a form to fix (422)."""
    return 400 if isinstance(exc, ValidationFailed) else exc.status_code


def confirm_context(email: str, token: str) -> dict[str, Any]:
    """The sign-in form turned into "confirm this address with your sign-up password"."""
    return {
        "values": {"email": email},
        "verify_token": token,
        "notice": "Enter the password you chose when you signed up to confirm this address.",
    }


@get("/auth/resend-verification")
async def resend_page(email: str = "") -> Template:
    """The form to ask for another confirmation mail."""
    return page(RESEND, {"values": {"email": email}})


@get("/auth/forgot-password")
async def forgot_page() -> Template:
    """The form to ask for a password-reset mail."""
    return page(FORGOT, {})


@get("/auth/reset-password")
async def reset_page(request: AnyRequest, token: str = "") -> Template:
    """The new-password form for the mailed `token`."""
    valid = await recovery.reset_token_valid(get_services(request).require_auth(), token)
    return page(RESET, {"token": token if valid else "", "invalid": not valid}, status=200 if valid else 400)
