"""Passkeys in the browser: the account page's card, sign-in with a passkey, and passkey-only sign-up.

Each ceremony is two remote functions: one answers the options for `navigator.credentials.create()`
or `.get()` (JSON, and a binding cookie naming this browser's challenge), the other takes the
authenticator's answer (web/static/passkeys.js posts it through htmx, so the answer is the same
partial a form gets). Rename and delete are plain forms that work without JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from domain.auth import passkey_signup, passkeys
from domain.auth.challenges import CHALLENGE_TTL_S
from domain.auth.passkeys import PasskeyView
from domain.auth.types import AuthUser
from web.auth.account import SIGN_IN as ACCOUNT_SIGN_IN
from web.auth.account import RowId, account_section
from web.auth.actions import MAX_FORM_BYTES, Done, Sent, signed_out_form
from web.auth.cookies import binding_cookie, new_binding, read_binding
from web.auth.pages import (
    SIGN_IN,
    SIGN_UP,
    SIGN_UP_BINDING,
    SIGN_UP_BINDING_MAX_AGE_S,
    complete_sign_in,
    sign_in_target,
)
from web.remote import Context, RateLimit, command, form

# The browser a passkey ceremony (adding one, signing in) was started in: a random HttpOnly secret.
PASSKEY_BINDING = "passkey_binding"
# Each options call keeps a challenge in Redis for five minutes: bound how many one user (or, signed
# out, one address) asks for.
OPTIONS_LIMIT = RateLimit(limit=30, window_seconds=60)
# An authenticator's answer is a few kilobytes (the domain refuses more than 64 KiB).
MAX_ANSWER_BYTES = 80 * 1024


class PublicKeyOptions(msgspec.Struct):
    """WebAuthn's options as JSON (bytes in base64url): `publicKey` for `navigator.credentials`."""

    options: dict[str, Any]


class PasskeyAnswer(msgspec.Struct):
    """The authenticator's answer: the PublicKeyCredential as JSON, bytes in base64url."""

    response: str = ""


class NewPasskey(msgspec.Struct):
    name: str = ""
    response: str = ""


class PasskeyName(msgspec.Struct):
    name: str = ""


def _start(ctx: Context, name: str, max_age_s: int, binding: str | None = None) -> str:
    """A binding secret for this ceremony, sent to the browser as cookie `name`."""
    binding = binding or new_binding()
    ctx.set_cookie(binding_cookie(ctx.services.settings, name, binding, max_age_s))
    return binding


def _options(raw: str) -> PublicKeyOptions:
    return PublicKeyOptions(options=json.loads(raw))


# --- The account page's "Passkeys" card ---------------------------------------------------


@command(path="/account/passkeys/options", signed_in=ACCOUNT_SIGN_IN, rate_limit=OPTIONS_LIMIT)
async def passkey_registration_options(ctx: Context) -> PublicKeyOptions:
    """Options for `navigator.credentials.create()` to add a passkey to this account."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    binding = _start(ctx, PASSKEY_BINDING, CHALLENGE_TTL_S)
    return _options(await passkeys.registration_options(ctx.services.require_auth(), user, binding=binding))


@form(path="/account/passkeys", signed_in=ACCOUNT_SIGN_IN, **account_section("passkeys", MAX_ANSWER_BYTES))
async def add_passkey(ctx: Context, data: NewPasskey) -> PasskeyView:
    """Add the passkey the browser created from `passkey_registration_options`, under `name`."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    settings = ctx.services.settings
    view = await passkeys.finish_registration(
        ctx.services.require_auth(),
        user,
        binding=read_binding(ctx.cookies, settings, PASSKEY_BINDING),
        response=data.response,
        name=data.name,
    )
    ctx.set_cookie(binding_cookie(settings, PASSKEY_BINDING, "", 0))
    ctx.notice(f'Passkey "{view.name}" added. You can sign in with it now.')
    return view


@form(path="/account/passkeys/{passkey_id}/rename", signed_in=ACCOUNT_SIGN_IN, **account_section("passkeys"))
async def rename_passkey(ctx: Context, passkey_id: RowId, data: PasskeyName) -> PasskeyView:
    """Rename one of this account's passkeys (1-100 characters; empty names it "Passkey")."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    view = await passkeys.rename_passkey(ctx.services.require_auth(), user.id, passkey_id, data.name)
    ctx.notice(f'Passkey renamed to "{view.name}".')
    return view


@command(
    path="/account/passkeys/{passkey_id}/delete", signed_in=ACCOUNT_SIGN_IN, **account_section("passkeys")
)
async def delete_passkey(ctx: Context, passkey_id: RowId) -> Done:
    """Remove one of this account's passkeys; it signs no one in from then on."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    await passkeys.delete_passkey(ctx.services.require_auth(), user.id, passkey_id)
    ctx.notice("Passkey deleted.")
    return Done()


# --- Sign in and sign up -------------------------------------------------------------------


@command(path="/auth/passkey/options", public=True, rate_limit=OPTIONS_LIMIT, max_body=MAX_FORM_BYTES)
async def passkey_sign_in_options(ctx: Context) -> PublicKeyOptions:
    """Options for `navigator.credentials.get()`: any passkey of this site may answer (also for autofill)."""
    binding = _start(ctx, PASSKEY_BINDING, CHALLENGE_TTL_S)
    return _options(await passkeys.authentication_options(ctx.services.require_auth(), binding=binding))


@form(path="/auth/passkey", **signed_out_form(SIGN_IN, max_body=MAX_ANSWER_BYTES))
async def sign_in_with_passkey(ctx: Context, data: PasskeyAnswer) -> AuthUser:
    """Sign in with the passkey that answered `passkey_sign_in_options`; no second factor is asked."""
    settings = ctx.services.settings
    ctx.show(next=sign_in_target(ctx, ""))
    signed = await passkeys.finish_authentication(
        ctx.services.require_auth(),
        binding=read_binding(ctx.cookies, settings, PASSKEY_BINDING),
        response=data.response,
        ip=ctx.address,
        user_agent=ctx.user_agent,
    )
    ctx.set_cookie(binding_cookie(settings, PASSKEY_BINDING, "", 0))
    await complete_sign_in(ctx, signed, sign_in_target(ctx))
    return signed.user


@command(path="/auth/sign-up/passkey/options", public=True, rate_limit=OPTIONS_LIMIT, max_body=MAX_FORM_BYTES)
async def passkey_sign_up_options(ctx: Context, name: str = "", email: str = "") -> PublicKeyOptions:
    """Options for `navigator.credentials.create()` to sign up with a passkey and no password."""
    settings = ctx.services.settings
    # The sign-up binding: the mailed link signs in (and keeps the passkey) only in this browser.
    binding = _start(
        ctx, SIGN_UP_BINDING, SIGN_UP_BINDING_MAX_AGE_S, read_binding(ctx.cookies, settings, SIGN_UP_BINDING)
    )
    raw = await passkey_signup.sign_up_options(
        ctx.services.require_auth(), email=email, name=name, binding=binding, ip=ctx.address
    )
    return _options(raw)


@form(path="/auth/sign-up/passkey", **signed_out_form(SIGN_UP, stay=True, max_body=MAX_ANSWER_BYTES))
async def sign_up_with_passkey(ctx: Context, data: PasskeyAnswer) -> Sent:
    """Finish a passkey sign-up: a confirmation link is mailed (the same answer for any address)."""
    email = await passkey_signup.finish_sign_up(
        ctx.services.require_auth(),
        binding=read_binding(ctx.cookies, ctx.services.settings, SIGN_UP_BINDING),
        response=data.response,
        ip=ctx.address,
    )
    ctx.show(sent_to=email)
    return Sent()
