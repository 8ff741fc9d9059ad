"""Sign-in links by email: ask on the sign-in page, follow the mailed link, confirm it on another device."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get

from domain.auth import magic_links
from domain.auth.core import MAGIC_LINK, TOKEN_LIFETIME
from domain.auth.flows import INVALID_LINK
from domain.auth.types import AuthUser
from domain.errors import DomainError, ValidationFailed
from web.auth.actions import Email, SecondFactorRequired, Sent, hold_for_second_factor, signed_out_form
from web.auth.cookies import binding_cookie, new_binding, read_binding
from web.auth.pages import SIGN_IN, complete_sign_in, link_failed_status, page, sign_in_target
from web.errors import caller_of
from web.remote import Context, context_from, form
from web.remote.responses import follow

AnyRequest = Request[Any, Any, Any]
# The browser that asked for a link holds this secret; the link signs in there without asking.
MAGIC_BINDING = "magic_binding"
MAGIC_BINDING_MAX_AGE_S = int(TOKEN_LIFETIME[MAGIC_LINK].total_seconds())
MAGIC_PAGE = "pages/auth/magic_link.html"
SEND_PATH = "/auth/magic-link/send"
# The same words whether or not the address has an account.
SENT = "If an account uses that address, we sent it a sign-in link. It works once, within 15 minutes."


class LinkConfirmation(msgspec.Struct):
    token: str = ""


@form(path=SEND_PATH, **signed_out_form(SIGN_IN))
async def email_sign_in_link(ctx: Context, data: Email) -> Sent:
    """Mail a sign-in link (the same answer for unknown addresses); opened in this browser, it signs in."""
    settings = ctx.services.settings
    target = sign_in_target(ctx, "")
    ctx.show(next=target)
    # Fresh for every request: a secret planted in the browser earlier never matches a link.
    binding = new_binding()
    email = await magic_links.request_magic_link(
        ctx.services.require_auth(), email=data.email, ip=ctx.address, binding=binding
    )
    ctx.show(values={"email": email})
    ctx.set_cookie(binding_cookie(settings, MAGIC_BINDING, binding, MAGIC_BINDING_MAX_AGE_S))
    ctx.notice(SENT)
    # Back to the sign-in page (keeping its `next`), not to `next` itself: the flash is read there.
    ctx.back_to(f"/auth/sign-in?{urlencode({'next': target})}" if target else "/auth/sign-in")
    return Sent()


async def use_link(ctx: Context, token: str, *, confirmed: bool) -> AuthUser | SecondFactorRequired | None:
    """Follow the link in this browser: signed in, sent to the code step, or None (confirm here first)."""
    settings = ctx.services.settings
    # A held sign-in gets a secret of its own, never the one the request left in the browser.
    hold = new_binding()
    outcome = await magic_links.follow_magic_link(
        ctx.services.require_auth(),
        token,
        binding=read_binding(ctx.cookies, settings, MAGIC_BINDING),
        ip=ctx.address,
        user_agent=ctx.user_agent,
        confirmed=confirmed,
        hold=hold,
    )
    if outcome.needs_confirmation:
        ctx.show(email=outcome.email)
        return None
    ctx.set_cookie(binding_cookie(settings, MAGIC_BINDING, "", 0))
    if outcome.signed_in is None:
        return SecondFactorRequired(second_step=hold_for_second_factor(ctx, hold, ""))
    await complete_sign_in(ctx, outcome.signed_in, "/")
    return outcome.signed_in.user


@get(magic_links.LINK_PATH)
async def magic_link_page(request: AnyRequest, token: str = "") -> Response[Any]:
    """Follow a mailed sign-in link: signs in the browser that asked; elsewhere asks to confirm first."""
    ctx = context_from(request)
    try:
        used = await use_link(ctx, token, confirmed=False)
    except DomainError as exc:
        return page(MAGIC_PAGE, {"message": exc.message}, status=link_failed_status(exc))
    if used is None:
        return page(MAGIC_PAGE, {"token": token, **ctx.effects.view})
    return follow(request, caller_of(request), ctx)


@form(path=magic_links.LINK_PATH, **signed_out_form(MAGIC_PAGE))
async def confirm_sign_in_link(ctx: Context, data: LinkConfirmation) -> AuthUser | SecondFactorRequired:
    """Sign in on this device with a link another browser asked for (the owner pressed the button)."""
    ctx.show(token=data.token)
    try:
        used = await use_link(ctx, data.token, confirmed=True)
    except ValidationFailed as exc:
        # A dead link is a bad request (400) with nothing left to press, not a form to fix.
        ctx.show(token="")
        raise DomainError(exc.message) from exc
    if used is None:
        ctx.show(token="")
        raise DomainError(INVALID_LINK)
    return used
