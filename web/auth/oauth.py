"""OAuth: start and finish sign-in with a provider (pages), link and unlink providers (remote functions)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from jinja2 import pass_context
from litestar import Request, Response, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.types import ControllerRouterHandler

from domain.auth import oauth as accounts
from domain.auth.core import Limit
from domain.auth.oauth_providers import FlowInvalid, OAuthFailed, configured_providers
from domain.errors import DomainError
from settings import Settings
from web.auth.account import SIGN_IN as ACCOUNT_SIGN_IN
from web.auth.account import section_view
from web.auth.actions import MAX_FORM_BYTES, hold_for_second_factor
from web.auth.cookies import binding_cookie, new_binding, read_binding
from web.auth.oauth_client import oauth_client
from web.auth.pages import SIGN_IN, after_sign_in, complete_sign_in, page
from web.errors import caller_of, error_headers_of
from web.remote import Context, command, context_from
from web.remote.responses import follow

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]
# The browser's binding secret: a flow's callback is honoured only with the cookie that started it.
BINDING_COOKIE = "oauth_binding"
BINDING_MAX_AGE_S = 600
# Starting a flow writes to Redis; this many starts per minute per IP is plenty for people.
START_LIMIT = Limit(20, 60)


def callback_url(settings: Settings, provider: str) -> str:
    return f"{settings.base_url.rstrip('/')}/auth/oauth/{provider}/callback"


async def _start(ctx: Context, provider: str, *, next_to: str, link_user_id: int | None) -> None:
    """Store a flow and send the browser to the provider (HX-Redirect for htmx: a full navigation)."""
    settings = ctx.services.settings
    await ctx.services.require_auth().limit(f"oauth:ip:{ctx.address}", START_LIMIT)
    binding = read_binding(ctx.cookies, settings, BINDING_COOKIE) or new_binding()
    url = await oauth_client(ctx.services).begin(
        provider,
        redirect_uri=callback_url(settings, provider),
        binding=binding,
        next_path=next_to,
        link_user_id=link_user_id,
    )
    ctx.set_cookie(binding_cookie(settings, BINDING_COOKIE, binding, BINDING_MAX_AGE_S))
    ctx.redirect_to(url, status=302)


def _sign_in_error(request: AnyRequest, ctx: Context, exc: DomainError, next_to: str = "") -> Response[Any]:
    """The sign-in page with the error's message and status; a signed-in browser goes back to /account."""
    if ctx.user is not None:
        ctx.redirect_to("/account", flash=exc.message, level="error")
        return follow(request, caller_of(request), ctx)
    response = page(SIGN_IN, {"message": exc.message, "next": next_to}, status=exc.status_code)
    response.headers.update(error_headers_of(exc))
    return response


@get("/auth/oauth/{provider:str}", tags=["auth"])
async def oauth_start(request: AnyRequest, provider: str, next: str | None = None) -> Response[Any]:
    """Begin signing in with `provider` (authorization code + state + PKCE S256)."""
    ctx = context_from(request)
    try:
        await _start(ctx, provider, next_to=after_sign_in(request, next), link_user_id=None)
    except DomainError as exc:
        return _sign_in_error(request, ctx, exc, after_sign_in(request, next, ""))
    return follow(request, caller_of(request), ctx)


@get("/auth/oauth/{provider:str}/callback", tags=["auth"])
async def oauth_callback(request: AnyRequest, provider: str) -> Response[Any]:
    """Where the provider sends the browser back: check state, exchange the code, sign in or link."""
    ctx = context_from(request)
    client = oauth_client(ctx.services)
    # Read by hand: `state` is a reserved handler parameter name in Litestar.
    query = request.query_params
    try:
        done = await client.complete(
            provider,
            state=query.get("state") or "",
            binding=read_binding(request.cookies, ctx.services.settings, BINDING_COOKIE),
            code=query.get("code") or "",
            error=(query.get("error") or "")[:100],
            error_description=(query.get("error_description") or "")[:300],
        )
        spec = client.provider(provider)
        auth = ctx.services.require_auth()
        if done.flow.link_user_id is not None:
            if ctx.user is None or ctx.user.id != done.flow.link_user_id:
                raise FlowInvalid(f"Sign in again to link {spec.label}.")
            added = await accounts.link(auth, spec, ctx.user.id, done)
            notice = f"{spec.label} is now linked." if added else f"{spec.label} was already linked."
            ctx.redirect_to("/account", flash=notice)
            return follow(request, caller_of(request), ctx)
        # Fresh for every sign-in, as for a password: it names a held sign-in when two-factor is on.
        held_binding = new_binding()
        signed = await accounts.sign_in(
            auth, spec, done, ip=ctx.address, user_agent=ctx.user_agent, binding=held_binding
        )
    except DomainError as exc:
        if isinstance(exc, OAuthFailed) or exc.status_code < 500:
            log.info("oauth callback refused: provider=%s reason=%s", provider, type(exc).__name__)
        return _sign_in_error(request, ctx, exc)
    if signed is None:
        hold_for_second_factor(ctx, held_binding, done.flow.next)
        return follow(request, caller_of(request), ctx)
    await complete_sign_in(ctx, signed, done.flow.next)
    return follow(request, caller_of(request), ctx)


# --- /account: link and unlink -------------------------------------------------------------------


class ProviderChange(msgspec.Struct):
    """Which provider a link or unlink was about."""

    provider: str


OAUTH_SECTION: dict[str, Any] = {
    "page": "pages/account.html",
    "partial": "partials/oauth_accounts.html",
    "view": section_view("oauth"),
    "redirect": "/account",
    "max_body": MAX_FORM_BYTES,
}


@command(path="/account/oauth/{provider}/link", signed_in=ACCOUNT_SIGN_IN, **OAUTH_SECTION)
async def oauth_link(ctx: Context, provider: str) -> ProviderChange:
    """Link a provider account to the signed-in user (redirects to the provider)."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    await _start(ctx, provider, next_to="/account", link_user_id=user.id)
    return ProviderChange(provider=provider)


@command(path="/account/oauth/{provider}/unlink", signed_in=ACCOUNT_SIGN_IN, **OAUTH_SECTION)
async def oauth_unlink(ctx: Context, provider: str) -> ProviderChange:
    """Unlink a provider (refused if it is the last way to sign in)."""
    user = ctx.require_user(ACCOUNT_SIGN_IN)
    configured = oauth_client(ctx.services).providers.get(provider)
    label = configured.label if configured else provider.capitalize()
    await accounts.unlink(ctx.services.require_auth(), user.id, provider, label)
    ctx.notice(f"{label} is no longer linked.")
    return ProviderChange(provider=provider)


# --- templates -----------------------------------------------------------------------------------


@pass_context
def oauth_providers(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Template global: (name, label) of each configured provider, for the sign-in buttons."""
    request = context.get("request")
    settings = getattr(getattr(getattr(request, "app", None), "state", None), "settings", None)
    if not isinstance(settings, Settings):
        return []
    return [(p.name, p.label) for p in configured_providers(settings).values()]


def register_oauth_helpers(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["oauth_providers"] = oauth_providers


def oauth_routes() -> list[ControllerRouterHandler]:
    return [oauth_start, oauth_callback]
