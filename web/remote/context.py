"""What a remote function knows about its caller, and what it asks of its answer: cookies, redirect, flash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from litestar import Request
from litestar.datastructures import Cookie

from domain.auth.types import AuthSession, AuthUser
from domain.errors import Forbidden, NotFound, NotSignedIn, Unavailable
from domain.orgs.members import OrgAccess, Role, access, active_organization
from web.headers import header
from web.request_id import request_id_of
from web.security import safe_next

if TYPE_CHECKING:
    from web.services import Services

DEFAULT_SIGN_IN_MESSAGE = "Please sign in to continue"
FlashLevel = Literal["success", "error", "info"]
RedirectStatus = Literal[302, 303]


@dataclass(slots=True)
class Effects:
    """What the answer carries beside the result, in whichever form the caller gets it."""

    cookies: list[Cookie] = field(default_factory=list)
    # Where a browser (303) or htmx (a full load via HX-Redirect) goes next; JSON callers get the result.
    redirect: str | None = None
    # 303 after a form post; 302 where the target expects a plain GET redirect (an OAuth provider).
    redirect_status: RedirectStatus = 303
    flash: tuple[str, FlashLevel] | None = None
    # Where a plain form post's 303 goes back to, instead of its `next` field or Referer.
    back: str | None = None
    # Success text: shown inside the form (htmx), flashed after the redirect back (plain form post).
    notice: str | None = None
    # Extra template values, and another template than the declared page/partial for this answer.
    view: dict[str, object] = field(default_factory=dict)
    template: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """Litestar-free call context, so page handlers and tests call remote functions directly."""

    user: AuthUser | None = None
    request_id: str = ""
    client_ip: str | None = None
    maybe_services: Services | None = None
    # Sent by the caller (`Idempotency-Key` header or the `_idempotency_key` field the button helper
    # adds): a command repeated with the same key must apply once (pass it to actors as request_id).
    # Over HTTP it arrives scoped to the caller and the function, so another caller's key is fresh.
    idempotency_key: str | None = None
    session: AuthSession | None = None
    session_token: str | None = None
    cookies: Mapping[str, str] = field(default_factory=dict)
    user_agent: str = ""
    # The form's same-origin `next` field, if it sent one.
    next: str | None = None
    effects: Effects = field(default_factory=Effects)
    # What this call already looked up (the active organization), so asking twice costs one query.
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def services(self) -> Services:
        if self.maybe_services is None:
            raise Unavailable("The service is starting up; try again in a moment.")
        return self.maybe_services

    @property
    def address(self) -> str:
        """The client's address for rate limits and audit logs ("unknown" when the server has none)."""
        return self.client_ip or "unknown"

    async def tenant(self) -> str | None:
        """The tenant the caller acts in, from the app's `Services.tenant_of` hook; None without one.

        In this app that is the slug of the session's active organization (`active_org().slug`).
        """
        if self.maybe_services is None:
            return None
        if "tenant" not in self.memo:
            self.memo["tenant"] = await self.maybe_services.tenant_of(self.user, self.session)
        found = self.memo["tenant"]
        return found if isinstance(found, str) else None

    def require_user(self, message: str = DEFAULT_SIGN_IN_MESSAGE) -> AuthUser:
        """The signed-in user, or NotSignedIn with `message` (rendered as a sign-in redirect)."""
        if self.user is None:
            raise NotSignedIn(message)
        return self.user

    def require_session(self, message: str = DEFAULT_SIGN_IN_MESSAGE) -> tuple[AuthUser, AuthSession]:
        user = self.require_user(message)
        if self.session is None:
            raise NotSignedIn(message)
        return user, self.session

    async def active_org(self) -> OrgAccess | None:
        """The session's active organization and the caller's role in it (None: signed out, or in none).

        The session's choice (switched from the header menu) while the user is still a member, else
        their first organization; membership is read afresh for every call.
        """
        if self.user is None:
            return None
        if "active_org" not in self.memo:
            session_id = self.session.id if self.session is not None else None
            self.memo["active_org"] = await active_organization(self.user.id, session_id)
        found = self.memo["active_org"]
        return found if isinstance(found, OrgAccess) else None

    async def require_org(self, role: Role = "member") -> OrgAccess:
        """The active organization, if the caller holds at least `role` there (else NotFound / Forbidden)."""
        self.require_user()
        org = await self.active_org()
        if org is None:
            raise NotFound("Create or join an organization first.")
        if not org.at_least(role):
            raise Forbidden(f"This needs the {role} role in {org.name}.")
        return org

    async def org_access(self, slug: str, role: Role = "member") -> OrgAccess:
        """The caller's standing in organization `slug`: NotFound unless a member, Forbidden below `role`."""
        user = self.require_user()
        memo_key = f"org:{slug}"
        if memo_key not in self.memo:
            self.memo[memo_key] = await access(user.id, slug)
        org = self.memo[memo_key]
        assert isinstance(org, OrgAccess)
        if not org.at_least(role):
            raise Forbidden(f"This needs the {role} role in {org.name}.")
        return org

    async def act_in(self, slug: str) -> OrgAccess:
        """Act in organization `slug` for this call (NotFound unless a member): `tenant()` is then its slug.

        Declared as `tenant="slug"` on routes under /orgs/{slug}, so limits, usage and tenant actors
        count the organization in the path, not the session's active one.
        """
        org = await self.org_access(slug)
        self.memo["tenant"] = org.slug
        return org

    def set_cookie(self, cookie: Cookie) -> None:
        """Send `cookie` with the answer (replacing one of the same name set earlier in this call)."""
        self.effects.cookies = [c for c in self.effects.cookies if c.key != cookie.key] + [cookie]

    def delete_cookie(self, key: str, path: str = "/") -> None:
        self.set_cookie(Cookie(key=key, path=path, expires=0, max_age=0))

    def redirect_to(
        self, path: str, flash: str | None = None, level: FlashLevel = "success", status: RedirectStatus = 303
    ) -> None:
        """Send browser and htmx callers to `path` (a full page load) after this call."""
        self.effects.redirect = path
        self.effects.redirect_status = status
        if flash:
            self.flash(flash, level)

    def back_to(self, path: str) -> None:
        """Send a plain form post back to `path` (post/redirect/get); htmx callers still get the partial."""
        self.effects.back = path

    def flash(self, message: str, level: FlashLevel = "success") -> None:
        self.effects.flash = (message, level)

    def notice(self, message: str) -> None:
        """Say what happened: inside the re-rendered form for htmx, as a flash after a plain post."""
        self.effects.notice = message
        self.effects.view["notice"] = message

    def show(self, template: str | None = None, **values: object) -> None:
        """Values for the answer's template (success or error), and optionally another template."""
        self.effects.view.update(values)
        if template is not None:
            self.effects.template = template


def user_of(request: Request[Any, Any, Any]) -> AuthUser | None:
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    return user if isinstance(user, AuthUser) else None


def client_ip_of(request: Request[Any, Any, Any]) -> str | None:
    client = request.scope.get("client")
    return client[0] if client else None


def context_from(
    request: Request[Any, Any, Any], *, next: str | None = None, idempotency_key: str | None = None
) -> Context:
    """The Context of an HTTP request, for page handlers that call remote functions for SSR.

    `idempotency_key` defaults to the request's `Idempotency-Key` header; `next` is a form's.
    """
    session = request.scope.get("auth")  # type: ignore[typeddict-item]
    token = request.scope.get("session_token")  # type: ignore[typeddict-item]
    return Context(
        user=user_of(request),
        request_id=request_id_of(request.scope),
        client_ip=client_ip_of(request),
        maybe_services=getattr(request.app.state, "services", None),
        idempotency_key=idempotency_key or header(request.scope, b"idempotency-key") or None,
        session=session if isinstance(session, AuthSession) else None,
        session_token=token if isinstance(token, str) else None,
        cookies=request.cookies,
        user_agent=header(request.scope, b"user-agent")[:512],
        next=next,
    )


def same_origin_next(request: Request[Any, Any, Any], candidate: str | None) -> str | None:
    """`candidate` as a path on this site (absolute URLs of this origin reduced to path and query)."""
    if not candidate:
        return None
    path = safe_next(candidate, "", origins=_origins(request))
    return path or None


def _origins(request: Request[Any, Any, Any]) -> frozenset[str]:
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    base_url = getattr(getattr(request.app.state, "settings", None), "base_url", None)
    if isinstance(base_url, str):
        origins.add(base_url.rstrip("/"))
    return frozenset(origins)
