"""Signed-out forms as remote functions: sign up, sign in, sign out, confirm a link, resend, forgot, reset."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec

from domain.auth import flows, recovery, second_factor
from domain.auth.challenges import CHALLENGE_TTL_S
from domain.auth.types import AuthUser
from domain.errors import DomainError
from web.auth.cookies import binding_cookie, cleared_cookie, device_cookie_name, new_binding, read_binding
from web.auth.pages import (
    FORGOT,
    RESEND,
    RESET,
    SIGN_IN,
    SIGN_IN_BINDING,
    SIGN_UP,
    SIGN_UP_BINDING,
    SIGN_UP_BINDING_MAX_AGE_S,
    TWO_FACTOR,
    TWO_FACTOR_PATH,
    VERIFY,
    complete_sign_in,
    confirm_context,
    end_browser_session,
    link_failed_status,
    sign_in_target,
)
from web.remote import Context, command, form

# Auth forms are a few short fields; refuse anything bigger before parsing it.
MAX_FORM_BYTES = 16 * 1024


def password_slot(ctx: Context) -> None:
    """A form that checks a password is refused (503) before parsing when argon2's queue is full."""
    ctx.services.require_auth().hasher.check_capacity()


def signed_out_form(
    page: str, *, stay: bool = False, password: bool = False, max_body: int = MAX_FORM_BYTES
) -> dict[str, Any]:
    """Declaration options of a signed-out form: anyone may post it; its page includes its partial."""
    partial = page.replace("pages/auth/", "partials/auth_")
    admit = password_slot if password else None
    return {
        "public": True,
        "page": page,
        "partial": partial,
        "stay": stay,
        "max_body": max_body,
        "admit": admit,
    }


class SignUp(msgspec.Struct):
    name: str = ""
    email: str = ""
    password: str = ""


class SignIn(msgspec.Struct):
    email: str = ""
    password: str = ""


class SecondFactorCode(msgspec.Struct):
    code: str = ""


class SecondFactorRequired(msgspec.Struct):
    """Right password, but the account has two-factor on: post a code to `second_step` from this browser."""

    second_step: str
    second_factor_required: bool = True


class Confirm(msgspec.Struct):
    token: str = ""
    password: str = ""
    email: str = ""


class Email(msgspec.Struct):
    email: str = ""


class Reset(msgspec.Struct):
    token: str = ""
    password: str = ""


class Sent(msgspec.Struct):
    """A mail may be on its way (the same answer whether or not the address has an account)."""

    sent: bool = True


class Done(msgspec.Struct):
    done: bool = True


@form(path="/auth/sign-up", **signed_out_form(SIGN_UP, stay=True, password=True))
async def sign_up(ctx: Context, data: SignUp) -> Sent:
    """Create an account and mail a confirmation link."""
    settings = ctx.services.settings
    binding = read_binding(ctx.cookies, settings, SIGN_UP_BINDING) or new_binding()
    email = await flows.sign_up(
        ctx.services.require_auth(),
        name=data.name,
        email=data.email,
        password=data.password,
        ip=ctx.address,
        binding=binding,
    )
    ctx.show(sent_to=email)
    # Lets the link sign in when it is opened in this browser (whatever the address: same answer).
    ctx.set_cookie(binding_cookie(settings, SIGN_UP_BINDING, binding, SIGN_UP_BINDING_MAX_AGE_S))
    return Sent()


def hold_for_second_factor(ctx: Context, binding: str, target: str) -> str:
    """The first factor was right and two-factor is on: keep the binding, go to the code step (its URL)."""
    ctx.set_cookie(binding_cookie(ctx.services.settings, SIGN_IN_BINDING, binding, CHALLENGE_TTL_S))
    second_step = f"{TWO_FACTOR_PATH}?{urlencode({'next': target})}" if target else TWO_FACTOR_PATH
    ctx.redirect_to(second_step)
    return second_step


@form(path="/auth/sign-in", **signed_out_form(SIGN_IN, password=True))
async def sign_in(ctx: Context, data: SignIn) -> AuthUser | SecondFactorRequired:
    """Start a session (the session cookie) and go to the form's `next` page.

    With two-factor on, no session yet: the browser goes to the code step, holding only a binding
    secret that names the held sign-in (worth nothing without a code).
    """
    settings = ctx.services.settings
    ctx.show(next=sign_in_target(ctx, ""))
    # Fresh for every sign-in: a binding planted in the browser earlier never names a held sign-in.
    binding = new_binding()
    try:
        signed = await flows.sign_in(
            ctx.services.require_auth(),
            email=data.email,
            password=data.password,
            ip=ctx.address,
            user_agent=ctx.user_agent,
            device_cookie=ctx.cookies.get(device_cookie_name(settings), ""),
            binding=binding,
        )
    except flows.EmailNotVerified:
        ctx.show(unverified=True)
        raise
    if signed is None:
        return SecondFactorRequired(second_step=hold_for_second_factor(ctx, binding, sign_in_target(ctx, "")))
    await complete_sign_in(ctx, signed, sign_in_target(ctx))
    return signed.user


@form(path=TWO_FACTOR_PATH, **signed_out_form(TWO_FACTOR))
async def sign_in_second_factor(ctx: Context, data: SecondFactorCode) -> AuthUser:
    """Finish a held sign-in with a code from the authenticator app or a backup code."""
    settings = ctx.services.settings
    ctx.show(next=sign_in_target(ctx, ""))
    signed = await second_factor.complete_sign_in(
        ctx.services.require_auth(),
        binding=read_binding(ctx.cookies, settings, SIGN_IN_BINDING),
        code=data.code,
        ip=ctx.address,
        user_agent=ctx.user_agent,
    )
    ctx.set_cookie(binding_cookie(settings, SIGN_IN_BINDING, "", 0))
    await complete_sign_in(ctx, signed, sign_in_target(ctx))
    return signed.user


@command(path="/auth/sign-out", public=True, max_body=MAX_FORM_BYTES)
async def sign_out(ctx: Context) -> Done:
    """End this browser's session."""
    if ctx.session_token is not None:
        await flows.sign_out(
            ctx.services.require_auth(), ctx.session_token, ctx.user.id if ctx.user else None
        )
    end_browser_session(ctx)
    ctx.redirect_to("/", flash="You have been signed out." if ctx.user else None)
    return Done()


@form(path="/auth/verify", **signed_out_form(SIGN_IN, password=True))
async def confirm_sign_up(ctx: Context, data: Confirm) -> AuthUser:
    """A sign-up link opened in another browser, with the password chosen at sign-up."""
    try:
        signed = await flows.confirm_sign_up(
            ctx.services.require_auth(),
            token=data.token,
            password=data.password,
            ip=ctx.address,
            user_agent=ctx.user_agent,
        )
    except DomainError as exc:
        if "token" not in exc.field_errors:
            ctx.show(**confirm_context(data.email, data.token))
            raise
        ctx.show(VERIFY, ok=False)
        if link_failed_status(exc) != 400:
            raise
        raise DomainError(exc.message) from exc
    await complete_sign_in(ctx, signed, "/")
    return signed.user


@form(path="/auth/resend-verification", **signed_out_form(RESEND, stay=True))
async def resend_verification(ctx: Context, data: Email) -> Sent:
    """Mail a new confirmation link (the same answer for unknown addresses)."""
    await flows.resend_verification(ctx.services.require_auth(), email=data.email, ip=ctx.address)
    ctx.show(sent=True)
    return Sent()


@form(path="/auth/forgot-password", **signed_out_form(FORGOT, stay=True))
async def forgot_password(ctx: Context, data: Email) -> Sent:
    """Mail a password-reset link (the same answer for unknown addresses)."""
    await recovery.request_password_reset(ctx.services.require_auth(), email=data.email, ip=ctx.address)
    ctx.show(sent=True)
    return Sent()


@form(path="/auth/reset-password", **signed_out_form(RESET, password=True))
async def reset_password(ctx: Context, data: Reset) -> Done:
    """Set a new password and end every session, this browser's included."""
    try:
        await recovery.reset_password(ctx.services.require_auth(), token=data.token, password=data.password)
    except DomainError as exc:
        invalid = "token" in exc.field_errors
        ctx.show(token="" if invalid else data.token, invalid=invalid)
        raise
    ctx.set_cookie(cleared_cookie(ctx.services.settings))
    ctx.redirect_to("/auth/sign-in", flash="Your password has been changed. Please sign in.")
    return Done()
