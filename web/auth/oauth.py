"""OAuth pages: start and finish sign-in with a provider, link and unlink providers on /account."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jinja2 import pass_context
from litestar import Request, Response, get, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from domain.auth import oauth as accounts
from domain.auth.core import Limit
from domain.auth.oauth_flow import OAuthClient
from domain.auth.oauth_providers import FlowInvalid, OAuthFailed, configured_providers
from domain.errors import DomainError, RateLimited
from settings import Settings
from web import flash
from web.auth.cookies import binding_cookie, new_binding, read_binding
from web.auth.forms import (
    NO_STORE,
    Templates,
    auth_service,
    client_ip,
    next_path,
    redirect,
    render,
    user_agent,
)
from web.auth.guards import current_user, require_session, signed_in
from web.auth.pages import SIGN_IN, complete_sign_in
from web.errors import Caller, caller_of, retry_after_header
from web.services import get_services

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]
# The browser's binding secret: a flow's callback is honoured only with the cookie that started it.
BINDING_COOKIE = "oauth_binding"
BINDING_MAX_AGE_S = 600
# Starting a flow writes to Redis; this many starts per minute per IP is plenty for people.
START_LIMIT = Limit(20, 60)
SECTION = "partials/oauth_accounts.html"


def oauth_client(request: AnyRequest) -> OAuthClient:
    """The process's OAuth client, built on first use from the app's settings and Redis."""
    state = request.app.state
    client = getattr(state, "oauth_client", None)
    if not isinstance(client, OAuthClient):
        services = get_services(request)
        client = OAuthClient(configured_providers(services.settings), services.redis)
        state.oauth_client = client
    return client


def callback_url(settings: Settings, provider: str) -> str:
    return f"{settings.base_url.rstrip('/')}/auth/oauth/{provider}/callback"


async def _start(
    request: AnyRequest, provider: str, *, next_to: str, link_user_id: int | None
) -> Response[Any]:
    """Store a flow and send the browser to the provider (HX-Redirect for htmx: a full navigation)."""
    settings = get_services(request).settings
    auth = auth_service(request)
    await auth.limit(f"oauth:ip:{client_ip(request)}", START_LIMIT)
    binding = read_binding(request, settings, BINDING_COOKIE) or new_binding()
    url = await oauth_client(request).begin(
        provider,
        redirect_uri=callback_url(settings, provider),
        binding=binding,
        next_path=next_to,
        link_user_id=link_user_id,
    )
    response: Response[Any]
    if caller_of(request) is Caller.HTMX:
        response = Response(None, status_code=200, headers={**NO_STORE, "HX-Redirect": url})
    else:
        response = Redirect(url, status_code=302, headers=NO_STORE)
    response.set_cookie(binding_cookie(settings, BINDING_COOKIE, binding, BINDING_MAX_AGE_S))
    return response


def _sign_in_error(request: AnyRequest, exc: DomainError, next_to: str = "") -> Response[Any]:
    """The sign-in page with the error's message and status; a signed-in browser goes back to /account."""
    if current_user(request) is not None:
        response = redirect(request, "/account")
        flash.flash(request, response, exc.message, "error")
        return response
    headers = retry_after_header(exc.retry_after) if isinstance(exc, RateLimited) else None
    return render(
        request,
        SIGN_IN,
        {"message": exc.message, "next": next_to},
        status=exc.status_code,
        headers=headers,
    )


@get("/auth/oauth/{provider:str}", tags=["auth"])
async def oauth_start(request: AnyRequest, provider: str, next: str | None = None) -> Response[Any]:
    """Begin signing in with `provider` (authorization code + state + PKCE S256)."""
    target = next_path(request, next)
    try:
        return await _start(request, provider, next_to=target, link_user_id=None)
    except DomainError as exc:
        return _sign_in_error(request, exc, next_path(request, next, ""))


@get("/auth/oauth/{provider:str}/callback", tags=["auth"])
async def oauth_callback(request: AnyRequest, provider: str) -> Response[Any]:
    """Where the provider sends the browser back: check state, exchange the code, sign in or link."""
    settings = get_services(request).settings
    client = oauth_client(request)
    # Read by hand: `state` is a reserved handler parameter name in Litestar.
    query = request.query_params
    try:
        done = await client.complete(
            provider,
            state=query.get("state") or "",
            binding=read_binding(request, settings, BINDING_COOKIE),
            code=query.get("code") or "",
            error=(query.get("error") or "")[:100],
            error_description=(query.get("error_description") or "")[:300],
        )
        spec = client.provider(provider)
        auth = auth_service(request)
        if done.flow.link_user_id is not None:
            user = current_user(request)
            if user is None or user.id != done.flow.link_user_id:
                raise FlowInvalid(f"Sign in again to link {spec.label}.")
            added = await accounts.link(auth, spec, user.id, done)
            notice = f"{spec.label} is now linked." if added else f"{spec.label} was already linked."
            return redirect(request, "/account", notice=notice)
        signed = await accounts.sign_in(
            auth, spec, done, ip=client_ip(request), user_agent=user_agent(request)
        )
    except DomainError as exc:
        if isinstance(exc, OAuthFailed) or exc.status_code < 500:
            log.info("oauth callback refused: provider=%s reason=%s", provider, type(exc).__name__)
        return _sign_in_error(request, exc)
    return await complete_sign_in(request, signed, done.flow.next)


# --- /account: link and unlink -------------------------------------------------------------------


async def oauth_section(request: AnyRequest, user_id: int, **form: Any) -> dict[str, Any]:
    """Context for partials/oauth_accounts.html (the account page includes it)."""
    settings = get_services(request).settings
    client = oauth_client(request) if configured_providers(settings) else None
    return {
        "accounts": await accounts.linked_accounts(user_id, client),
        "message": None,
        "notice": None,
        **form,
    }


async def _section_response(request: AnyRequest, status: int = 200, **form: Any) -> Response[Any]:
    """htmx: the section alone; browsers: the whole account page (errors) or a redirect (success)."""
    user, session = require_session(request)
    if caller_of(request) is not Caller.HTMX and status < 400:
        return redirect(request, "/account", notice=form.get("notice"))
    from web.auth import account as account_pages  # account.py includes this section: import late

    context = await account_pages._context(request, user, session)
    context["oauth"] = await oauth_section(request, user.id, **form)
    return render(request, Templates(account_pages.PAGE, SECTION), context, status=status)


@post("/account/oauth/{provider:str}/link", guards=[signed_in], status_code=200, tags=["auth"])
async def oauth_link(request: AnyRequest, provider: str) -> Response[Any]:
    """Link a provider account to the signed-in user (redirects to the provider)."""
    user, _ = require_session(request)
    try:
        return await _start(request, provider, next_to="/account", link_user_id=user.id)
    except DomainError as exc:
        return await _section_response(request, exc.status_code, message=exc.message)


@post("/account/oauth/{provider:str}/unlink", guards=[signed_in], status_code=200, tags=["auth"])
async def oauth_unlink(request: AnyRequest, provider: str) -> Response[Any]:
    """Unlink a provider (refused if it is the last way to sign in)."""
    user, _ = require_session(request)
    configured = oauth_client(request).providers.get(provider)
    label = configured.label if configured else provider.capitalize()
    try:
        await accounts.unlink(auth_service(request), user.id, provider, label)
    except DomainError as exc:
        return await _section_response(request, exc.status_code, message=exc.message)
    return await _section_response(request, notice=f"{label} is no longer linked.")


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
    return [oauth_start, oauth_callback, oauth_link, oauth_unlink]
