"""The account page: profile, password, email change, sessions, deletion; one partial per section."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template

from domain.auth import account
from domain.auth.types import AuthSession, AuthUser
from domain.errors import DomainError
from web.auth.cookies import cleared_cookie
from web.auth.forms import NO_STORE, Templates, auth_service, echo, read_form, redirect, render, render_error
from web.auth.guards import require_session, signed_in
from web.auth.oauth import oauth_section
from web.errors import Caller, caller_of
from web.services import get_services
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
PAGE = "pages/account.html"
SECTIONS = ("profile", "password", "email", "sessions", "delete")
# Session ids are Piccolo Serial columns: PostgreSQL `integer`, so a larger id is refused at the edge.
SessionId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]


async def _context(
    request: AnyRequest, user: AuthUser, session: AuthSession, section: str | None = None, **form: Any
) -> dict[str, Any]:
    auth = auth_service(request)
    forms: dict[str, dict[str, Any]] = {
        name: {"errors": {}, "values": {}, "message": None} for name in SECTIONS
    }
    if section:
        forms[section].update(form)
    return {
        "user": user,
        "sessions": await account.list_sessions(auth, user.id, session.id),
        "has_password": await account.has_password(user.id),
        "forms": forms,
        "oauth": await oauth_section(request, user.id),
    }


async def _done(
    request: AnyRequest, section: str, notice: str, user: AuthUser | None = None
) -> Response[Any]:
    """htmx: the section re-rendered with `notice`; browsers: back to /account with a flash message."""
    if caller_of(request) is not Caller.HTMX:
        return redirect(request, "/account", notice=notice)
    current, session = require_session(request)
    context = await _context(request, user or current, session, section, notice=notice)
    return HTMLTemplate(f"partials/account_{section}.html", context=context, headers=NO_STORE)


async def _failed(
    request: AnyRequest, section: str, exc: DomainError, values: dict[str, str]
) -> Response[Any]:
    user, session = require_session(request)
    context = await _context(
        request, user, session, section, values=echo(values), errors=exc.field_errors, message=exc.message
    )
    return render_error(request, exc, Templates(PAGE, f"partials/account_{section}.html"), context)


@get("/account", guards=[signed_in])
async def account_page(request: AnyRequest) -> Template:
    """The signed-in user's account: profile, password, email, sessions, linked providers."""
    user, session = require_session(request)
    context = await _context(request, user, session)
    return render(request, Templates(PAGE, PAGE), context)


@post("/account/profile", guards=[signed_in], status_code=200)
async def update_profile(request: AnyRequest) -> Response[Any]:
    """Form `name`, `avatar`: change the profile."""
    user, _ = require_session(request)
    values = await read_form(request)
    try:
        updated = await account.update_profile(
            auth_service(request), user.id, name=values.get("name", ""), avatar=values.get("avatar", "")
        )
    except DomainError as exc:
        return await _failed(request, "profile", exc, values)
    return await _done(request, "profile", "Profile saved.", updated)


@post("/account/password", guards=[signed_in], status_code=200)
async def change_password(request: AnyRequest) -> Response[Any]:
    """Form `current_password`, `new_password`: change the password; other sessions end."""
    user, session = require_session(request)
    values = await read_form(request)
    try:
        await account.change_password(
            auth_service(request),
            user,
            current_session_id=session.id,
            current_password=values.get("current_password", ""),
            new_password=values.get("new_password", ""),
        )
    except DomainError as exc:
        return await _failed(request, "password", exc, values)
    return await _done(request, "password", "Password changed. Your other devices were signed out.")


@post("/account/email", guards=[signed_in], status_code=200)
async def change_email(request: AnyRequest) -> Response[Any]:
    """Form `new_email`, `current_password`: mail a confirmation link to the new address."""
    user, _ = require_session(request)
    values = await read_form(request)
    try:
        email = await account.request_email_change(
            auth_service(request),
            user,
            new_email=values.get("new_email", ""),
            current_password=values.get("current_password", ""),
        )
    except DomainError as exc:
        return await _failed(request, "email", exc, values)
    return await _done(
        request, "email", f"We sent a confirmation link to {email}. Your email changes once you follow it."
    )


@post("/account/sessions/{session_id:int}/revoke", guards=[signed_in], status_code=200)
async def revoke_session(request: AnyRequest, session_id: SessionId) -> Response[Any]:
    """End one of the user's other sessions."""
    user, session = require_session(request)
    auth = auth_service(request)
    try:
        await account.revoke_session(auth, user.id, session_id)
    except DomainError as exc:
        return await _failed(request, "sessions", exc, {})
    if session_id == session.id:
        response = redirect(request, "/auth/sign-in", notice="You have been signed out.")
        response.set_cookie(cleared_cookie(get_services(request).settings))
        return response
    return await _done(request, "sessions", "That session has been signed out.")


@post("/account/sessions/revoke-others", guards=[signed_in], status_code=200)
async def revoke_others(request: AnyRequest) -> Response[Any]:
    """End every session of the user but this one."""
    user, session = require_session(request)
    ended = await account.revoke_other_sessions(auth_service(request), user.id, session.id)
    plural = "session" if ended == 1 else "sessions"
    return await _done(request, "sessions", f"Signed out of {ended} other {plural}.")


@post("/account/delete", guards=[signed_in], status_code=200)
async def delete_account(request: AnyRequest) -> Response[Any]:
    """Form `current_password`, `confirm_email`: delete the account and everything it owns."""
    user, _ = require_session(request)
    values = await read_form(request)
    try:
        await account.delete_account(
            auth_service(request),
            user,
            current_password=values.get("current_password", ""),
            confirm_email=values.get("confirm_email", ""),
        )
    except DomainError as exc:
        return await _failed(request, "delete", exc, values)
    response = redirect(request, "/", notice="Your account has been deleted.")
    response.set_cookie(cleared_cookie(get_services(request).settings))
    return response
