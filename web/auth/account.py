"""The account page and its forms (profile, password, email, sessions, two-factor, deletion).

The passkeys card's functions are in web/auth/passkeys.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.response import Template
from markupsafe import Markup

from domain.auth import account, passkeys, totp
from domain.auth import oauth as accounts
from domain.auth.core import Auth
from domain.auth.oauth_providers import configured_providers
from domain.auth.types import AuthUser
from web.auth.actions import MAX_FORM_BYTES, Done, password_slot
from web.auth.guards import signed_in
from web.auth.oauth_client import oauth_client
from web.auth.pages import NO_STORE, end_browser_session
from web.remote import Context, command, context_from, form
from web.remote.spec import View
from web.templating import HTMLTemplate

AnyRequest = Request[Any, Any, Any]
PAGE = "pages/account.html"
SECTIONS = ("profile", "password", "email", "sessions", "two_factor", "passkeys", "delete")
SIGN_IN = "Please sign in to see your account"
# Row ids (sessions, passkeys) are Piccolo Serial columns: PostgreSQL `integer`, so a larger id is
# refused at the edge.
RowId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


async def account_context(ctx: Context, user: AuthUser | None = None) -> dict[str, Any]:
    """Everything pages/account.html and its section partials read."""
    me, session = ctx.require_session(SIGN_IN)
    auth = ctx.services.require_auth()
    client = oauth_client(ctx.services) if configured_providers(ctx.services.settings) else None
    return {
        "user": user or me,
        "sessions": await account.list_sessions(auth, me.id, session.id),
        "has_password": await account.has_password(me.id),
        "two_factor": {
            "enabled": await totp.two_factor_enabled(me.id),
            "backup_codes_left": await totp.backup_codes_left(me.id),
        },
        "passkeys": await passkeys.list_passkeys(me.id),
        "forms": {name: {"errors": {}, "values": {}, "message": None} for name in SECTIONS},
        "oauth": {"accounts": await accounts.linked_accounts(me.id, client), "message": None, "notice": None},
    }


def section_view(section: str) -> View:
    """The account context with this section's form state (errors, values, message, notice) filled in."""

    async def view(ctx: Context, base: dict[str, object]) -> dict[str, object]:
        result = base.get("result")
        context: dict[str, Any] = {
            **base,
            **await account_context(ctx, result if isinstance(result, AuthUser) else None),
        }
        state = {k: base.get(k) for k in ("errors", "values", "message", "notice")}
        if section == "oauth":
            context["oauth"].update(message=state["message"], notice=state["notice"])
        else:
            context["forms"][section].update(state)
        return context

    return view


def account_section(
    name: str, max_body: int = MAX_FORM_BYTES, *, password: bool = False, stay: bool = False
) -> dict[str, Any]:
    """Declaration options shared by the account's forms: page, partial, view, answer for no-JS."""
    partial = "partials/oauth_accounts.html" if name == "oauth" else f"partials/account_{name}.html"
    return {
        "page": PAGE,
        "partial": partial,
        "view": section_view(name),
        "redirect": "/account",
        "max_body": max_body,
        "admit": password_slot if password else None,
        "stay": stay,
    }


@get("/account", guards=[signed_in])
async def account_page(request: AnyRequest) -> Template:
    """The signed-in user's account: profile, password, email, sessions, linked providers."""
    context = await account_context(context_from(request))
    return HTMLTemplate(PAGE, context=context, headers=NO_STORE)


@command(
    path="/account/profile",
    aliases=("/_remote/update_user_profile",),
    signed_in=SIGN_IN,
    # The header shows the name too: the answer carries it, so the page never shows the old one.
    updates=["header_user"],
    **account_section("profile"),
)
async def update_user_profile(ctx: Context, name: str, avatar: str = "") -> AuthUser:
    """Change the display name (1-100 characters) and avatar (an http(s) URL, or empty to remove it)."""
    user = ctx.require_user(SIGN_IN)
    updated = await account.update_profile(ctx.services.require_auth(), user.id, name=name, avatar=avatar)
    ctx.notice("Profile saved.")
    return updated


class PasswordChange(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""


class EmailChange(msgspec.Struct):
    new_email: str = ""
    current_password: str = ""


class Deletion(msgspec.Struct):
    current_password: str = ""
    confirm_email: str = ""


class Ended(msgspec.Struct):
    """How many sessions a call ended."""

    ended: int


@form(path="/account/password", signed_in=SIGN_IN, **account_section("password", password=True))
async def change_password(ctx: Context, data: PasswordChange) -> Done:
    """Change the password; the user's other sessions end."""
    user, session = ctx.require_session(SIGN_IN)
    await account.change_password(
        ctx.services.require_auth(),
        user,
        current_session_id=session.id,
        current_password=data.current_password,
        new_password=data.new_password,
    )
    ctx.notice("Password changed. Your other devices were signed out.")
    return Done()


class EmailSent(msgspec.Struct):
    sent_to: str


@form(path="/account/email", signed_in=SIGN_IN, **account_section("email", password=True))
async def change_email(ctx: Context, data: EmailChange) -> EmailSent:
    """Mail a confirmation link to the new address; the email changes once it is followed."""
    user = ctx.require_user(SIGN_IN)
    email = await account.request_email_change(
        ctx.services.require_auth(), user, new_email=data.new_email, current_password=data.current_password
    )
    ctx.notice(f"We sent a confirmation link to {email}. Your email changes once you follow it.")
    return EmailSent(sent_to=email)


@command(path="/account/sessions/{session_id}/revoke", signed_in=SIGN_IN, **account_section("sessions"))
async def revoke_session(ctx: Context, session_id: RowId) -> Ended:
    """End one of the user's sessions (this one signs this browser out)."""
    user, session = ctx.require_session(SIGN_IN)
    await account.revoke_session(ctx.services.require_auth(), user.id, session_id)
    if session_id == session.id:
        end_browser_session(ctx)
        ctx.redirect_to("/auth/sign-in", flash="You have been signed out.")
    else:
        ctx.notice("That session has been signed out.")
    return Ended(ended=1)


@command(path="/account/sessions/revoke-others", signed_in=SIGN_IN, **account_section("sessions"))
async def revoke_others(ctx: Context) -> Ended:
    """End every session of the user but this one."""
    user, session = ctx.require_session(SIGN_IN)
    ended = await account.revoke_other_sessions(ctx.services.require_auth(), user.id, session.id)
    ctx.notice(f"Signed out of {ended} other {'session' if ended == 1 else 'sessions'}.")
    return Ended(ended=ended)


@form(path="/account/delete", signed_in=SIGN_IN, **account_section("delete", password=True))
async def delete_account(ctx: Context, data: Deletion) -> Done:
    """Delete the account and everything it owns."""
    user = ctx.require_user(SIGN_IN)
    await account.delete_account(
        ctx.services.require_auth(),
        user,
        current_password=data.current_password,
        confirm_email=data.confirm_email,
    )
    end_browser_session(ctx)
    ctx.redirect_to("/", flash="Your account has been deleted.")
    return Done()


class SecondFactorCode(msgspec.Struct):
    code: str = ""


class TwoFactorDisable(msgspec.Struct):
    password: str = ""
    code: str = ""


class BackupCodes(msgspec.Struct):
    """Shown once: only their hashes are kept."""

    backup_codes: list[str]


# Enrolment and confirmation answer with the page itself (stay=True): the QR code and the backup
# codes exist only in that answer, so a redirect would lose them.
@command(path="/account/two-factor/enrol", signed_in=SIGN_IN, **account_section("two_factor", stay=True))
async def start_two_factor(ctx: Context) -> totp.Enrolment:
    """A new authenticator secret: its QR code (inline SVG) and manual key; on once confirmed with a code."""
    user = ctx.require_user(SIGN_IN)
    enrolment = await totp.start_enrolment(ctx.services.require_auth(), user)
    # segno made this SVG from the provisioning URI on the server; nothing a user typed is in it.
    ctx.show(enrolment=enrolment, qr_svg=Markup(enrolment.qr_svg))  # noqa: S704
    return enrolment


async def new_backup_codes(
    ctx: Context,
    make: Callable[[Auth, AuthUser, str], Awaitable[list[str]]],
    code: str,
    *,
    form_flag: str,
    notice: str,
) -> BackupCodes:
    """Backup codes from `make` after a code, shown once; a refusal shows in the `form_flag` form."""
    user = ctx.require_user(SIGN_IN)
    flags: dict[str, object] = {form_flag: True}
    ctx.show(None, **flags)
    codes = await make(ctx.services.require_auth(), user, code)
    ctx.show(None, **{form_flag: False, "backup_codes": codes})
    ctx.notice(notice)
    return BackupCodes(backup_codes=codes)


@form(path="/account/two-factor/confirm", signed_in=SIGN_IN, **account_section("two_factor", stay=True))
async def confirm_two_factor(ctx: Context, data: SecondFactorCode) -> BackupCodes:
    """Turn two-factor on with a first code from the app; answers the 10 backup codes, once."""
    return await new_backup_codes(
        ctx, totp.confirm_enrolment, data.code, form_flag="confirming", notice="Two-factor sign-in is on."
    )


@form(path="/account/two-factor/backup-codes", signed_in=SIGN_IN, **account_section("two_factor", stay=True))
async def regenerate_backup_codes(ctx: Context, data: SecondFactorCode) -> BackupCodes:
    """New backup codes after a current code from the app; the old ones stop working. Shown once."""
    return await new_backup_codes(
        ctx,
        totp.regenerate_backup_codes,
        data.code,
        form_flag="regenerating",
        notice="New backup codes made; the old ones no longer work.",
    )


@form(path="/account/two-factor/disable", signed_in=SIGN_IN, **account_section("two_factor", password=True))
async def disable_two_factor(ctx: Context, data: TwoFactorDisable) -> Done:
    """Turn two-factor off: needs the password and a code (or a backup code)."""
    user = ctx.require_user(SIGN_IN)
    await totp.disable(ctx.services.require_auth(), user, password=data.password, code=data.code)
    ctx.notice("Two-factor sign-in is off.")
    return Done()
