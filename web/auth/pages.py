"""Signed-out pages: sign up, sign in, sign out, verify email, resend, forgot and reset password."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from domain.auth import flows, recovery
from domain.auth.device_cookie import LIFETIME, issue_device_cookie
from domain.errors import DomainError, ValidationFailed
from web.auth.cookies import (
    binding_cookie,
    cleared_cookie,
    device_cookie,
    device_cookie_name,
    new_binding,
    read_binding,
    session_cookie,
)
from web.auth.forms import (
    Templates,
    auth_service,
    client_ip,
    echo,
    next_path,
    read_form,
    redirect,
    render,
    render_error,
    user_agent,
)
from web.auth.guards import current_session, current_user
from web.services import get_services

AnyRequest = Request[Any, Any, Any]
CSRF_COOKIE = "csrftoken"
# The browser that signed up holds this secret; its confirmation link then signs in there.
SIGN_UP_BINDING = "signup_binding"
SIGN_UP_BINDING_MAX_AGE_S = 24 * 3600
SENT_NOTICE = "Check your inbox: if that address can receive mail from us, a link is on its way."


def _pages(name: str) -> Templates:
    return Templates(f"pages/auth/{name}.html", f"partials/auth_{name}.html")


SIGN_UP = _pages("sign_up")
SIGN_IN = _pages("sign_in")
FORGOT = _pages("forgot_password")
RESET = _pages("reset_password")
RESEND = _pages("resend_verification")
VERIFY = Templates("pages/auth/verify.html", "pages/auth/verify.html")


@get("/auth/sign-up")
async def sign_up_page(request: AnyRequest) -> Response[Any]:
    """The sign-up form."""
    if current_user(request):
        return redirect(request, "/")
    return render(request, SIGN_UP, {})


@post("/auth/sign-up", status_code=200)
async def sign_up(request: AnyRequest) -> Response[Any]:
    """Form `name`, `email`, `password`: create an account and mail a confirmation link."""
    values = await read_form(request)
    auth = auth_service(request)
    settings = get_services(request).settings
    binding = read_binding(request, settings, SIGN_UP_BINDING) or new_binding()
    try:
        email = await flows.sign_up(
            auth,
            name=values.get("name", ""),
            email=values.get("email", ""),
            password=values.get("password", ""),
            ip=client_ip(request),
            binding=binding,
        )
    except DomainError as exc:
        return render_error(request, exc, SIGN_UP, {"values": echo(values)})
    response = render(request, SIGN_UP, {"sent_to": email})
    # Lets the link sign in when it is opened in this browser (whatever the address: same answer).
    response.set_cookie(binding_cookie(settings, SIGN_UP_BINDING, binding, SIGN_UP_BINDING_MAX_AGE_S))
    return response


@get("/auth/sign-in")
async def sign_in_page(request: AnyRequest, next: str | None = None) -> Response[Any]:
    """The sign-in form; `next` is where a successful sign-in goes."""
    if current_user(request):
        return redirect(request, next_path(request, next))
    return render(request, SIGN_IN, {"next": next_path(request, next, "")})


@post("/auth/sign-in", status_code=200)
async def sign_in(request: AnyRequest) -> Response[Any]:
    """Form `email`, `password` (and `next`): start a session (the `session` cookie)."""
    values = await read_form(request)
    auth = auth_service(request)
    target = next_path(request, values.get("next"))
    context: dict[str, Any] = {"values": echo(values), "next": next_path(request, values.get("next"), "")}
    try:
        signed = await flows.sign_in(
            auth,
            email=values.get("email", ""),
            password=values.get("password", ""),
            ip=client_ip(request),
            user_agent=user_agent(request),
            device_cookie=request.cookies.get(device_cookie_name(get_services(request).settings), ""),
        )
    except flows.EmailNotVerified as exc:
        return render_error(request, exc, SIGN_IN, {**context, "unverified": True})
    except DomainError as exc:
        return render_error(request, exc, SIGN_IN, context)
    return await complete_sign_in(request, signed, target)


async def complete_sign_in(request: AnyRequest, signed: flows.SignedIn, target: str) -> Response[Any]:
    """Send the browser to `target` with the new session's cookie (also for OAuth callbacks).

    Any session the browser already had ends, and the CSRF cookie is dropped so the next page
    mints a token for the new session. The browser becomes a known device of the account.
    """
    auth = auth_service(request)
    old_token = request.scope.get("session_token")
    if isinstance(old_token, str):
        await flows.sign_out(auth, old_token)
    response = redirect(request, target, notice=f"Welcome back, {signed.user.name}.")
    settings = get_services(request).settings
    response.set_cookie(session_cookie(settings, signed.token, signed.session.expires_at))
    known = await issue_device_cookie(auth, signed.user.id)
    response.set_cookie(device_cookie(settings, known, int(LIFETIME.total_seconds())))
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@post("/auth/sign-out", status_code=200)
async def sign_out(request: AnyRequest) -> Response[Any]:
    """End this browser's session."""
    token = request.scope.get("session_token")
    user = current_user(request)
    if isinstance(token, str):
        await flows.sign_out(auth_service(request), token, user.id if user else None)
    response = redirect(request, "/", notice="You have been signed out." if user else None)
    response.set_cookie(cleared_cookie(get_services(request).settings))
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@get("/auth/verify")
async def verify(request: AnyRequest, token: str = "") -> Response[Any]:
    """Follow an emailed confirmation link (sign-up or email change).

    A sign-up link opened in the browser that signed up signs in; anywhere else it asks for the
    password chosen at sign-up (sign-in form, email filled in) before the address is confirmed.
    """
    auth = auth_service(request)
    settings = get_services(request).settings
    try:
        followed = await flows.follow_link(
            auth,
            token,
            binding=read_binding(request, settings, SIGN_UP_BINDING),
            ip=client_ip(request),
            user_agent=user_agent(request),
            current=current_session(request),
        )
    except DomainError as exc:
        return _link_failed(request, exc)
    if followed.signed_in is not None:
        return await complete_sign_in(request, followed.signed_in, "/")
    if followed.needs_password:
        return render(request, SIGN_IN, _confirm_context(followed.email, token))
    if followed.reset_token:
        notice = "Your email address is confirmed. Choose a password to finish."
        return redirect(request, f"/auth/reset-password?token={followed.reset_token}", notice=notice)
    signed_in_as = current_user(request)
    return render(
        request, VERIFY, {"ok": True, "email": followed.email, "signed_in": signed_in_as is not None}
    )


@post("/auth/verify", status_code=200)
async def confirm(request: AnyRequest) -> Response[Any]:
    """A sign-up link opened in another browser, with the password chosen at sign-up."""
    values = await read_form(request)
    token = values.get("token", "")
    try:
        signed = await flows.confirm_sign_up(
            auth_service(request),
            token=token,
            password=values.get("password", ""),
            ip=client_ip(request),
            user_agent=user_agent(request),
        )
    except DomainError as exc:
        if "token" in exc.field_errors:
            return _link_failed(request, exc)
        return render_error(request, exc, SIGN_IN, _confirm_context(values.get("email", ""), token))
    return await complete_sign_in(request, signed, "/")


def _confirm_context(email: str, token: str) -> dict[str, Any]:
    return {
        "values": {"email": email},
        "verify_token": token,
        "notice": "Enter the password you chose when you signed up to confirm this address.",
    }


def _link_failed(request: AnyRequest, exc: DomainError) -> Template:
    status = exc.status_code if not isinstance(exc, ValidationFailed) else 400
    return render(request, VERIFY, {"ok": False, "message": exc.message}, status=status)


@get("/auth/resend-verification")
async def resend_page(request: AnyRequest, email: str = "") -> Template:
    """The form to ask for another confirmation mail."""
    return render(request, RESEND, {"values": {"email": email}})


@post("/auth/resend-verification", status_code=200)
async def resend(request: AnyRequest) -> Response[Any]:
    """Form `email`: mail a new confirmation link (same answer for unknown addresses)."""
    values = await read_form(request)
    try:
        await flows.resend_verification(
            auth_service(request), email=values.get("email", ""), ip=client_ip(request)
        )
    except DomainError as exc:
        return render_error(request, exc, RESEND, {"values": echo(values)})
    return render(request, RESEND, {"sent": True})


@get("/auth/forgot-password")
async def forgot_page(request: AnyRequest) -> Template:
    """The form to ask for a password-reset mail."""
    return render(request, FORGOT, {})


@post("/auth/forgot-password", status_code=200)
async def forgot(request: AnyRequest) -> Response[Any]:
    """Form `email`: mail a password-reset link (same answer for unknown addresses)."""
    values = await read_form(request)
    try:
        await recovery.request_password_reset(
            auth_service(request), email=values.get("email", ""), ip=client_ip(request)
        )
    except DomainError as exc:
        return render_error(request, exc, FORGOT, {"values": echo(values)})
    return render(request, FORGOT, {"sent": True})


@get("/auth/reset-password")
async def reset_page(request: AnyRequest, token: str = "") -> Template:
    """The new-password form for the mailed `token`."""
    valid = await recovery.reset_token_valid(auth_service(request), token)
    return render(
        request,
        RESET,
        {"token": token if valid else "", "invalid": not valid},
        status=200 if valid else 400,
    )


@post("/auth/reset-password", status_code=200)
async def reset(request: AnyRequest) -> Response[Any]:
    """Form `token`, `password`: set a new password and end every session."""
    values = await read_form(request)
    token = values.get("token", "")
    try:
        await recovery.reset_password(auth_service(request), token=token, password=values.get("password", ""))
    except DomainError as exc:
        invalid = "token" in exc.field_errors
        return render_error(request, exc, RESET, {"token": "" if invalid else token, "invalid": invalid})
    response = redirect(request, "/auth/sign-in", notice="Your password has been changed. Please sign in.")
    # Every session ended, this browser's included.
    response.set_cookie(cleared_cookie(get_services(request).settings))
    return response
