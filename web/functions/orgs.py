"""Organization pages and forms: list/create, one organization's members and invitations, accepting.

Every route under /orgs/{slug} resolves the caller's membership of that slug first (NotFound for
anyone else) and every id in its path is looked up within that organization only, so another
tenant's slug or ids answer 404 (tests/web/test_orgs_tenancy.py walks every such route).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from domain.auth.core import Auth
from domain.errors import NotFound
from domain.orgs import members as orgs
from domain.orgs.members import InvitationPreview, InvitationView, MemberView, OrgAccess, OrgSummary
from web.remote import Context, RateLimit, command, form, query

SIGN_IN = "Please sign in to see your organizations"
ORGS_PAGE = "pages/orgs.html"
ORG_PAGE = "pages/org.html"
INVITATION_PAGE = "pages/invitation.html"
# Serial ids are PostgreSQL `integer`: a larger id is refused at the edge (and answers 404).
RowId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class OrgPage(msgspec.Struct, frozen=True):
    """One organization as its members see it; invitations only for owners and admins."""

    org: OrgAccess
    members: list[MemberView]
    invitations: list[InvitationView]


class NewOrganization(msgspec.Struct):
    name: str = ""
    slug: str = ""


class NewInvitation(msgspec.Struct):
    email: str = ""
    role: str = "member"


class RoleChange(msgspec.Struct):
    role: str = ""


class DeleteConfirmation(msgspec.Struct):
    confirm: str = ""


class InvitationToken(msgspec.Struct):
    token: str = ""


class Done(msgspec.Struct):
    ok: bool = True


def _auth(ctx: Context) -> Auth:
    return ctx.services.require_auth()


async def org_page(ctx: Context, slug: str) -> OrgPage:
    org = await ctx.org_access(slug)
    now = _auth(ctx).clock()
    return OrgPage(org=org, members=await orgs.members(org), invitations=await orgs.invitations(org, now))


async def _org_view(ctx: Context, base: dict[str, object]) -> dict[str, object]:
    """A refused change re-renders the organization's page with the message (slug set by the function)."""
    slug = base.get("slug")
    # No slug: the input was refused before the function ran; the page shows just the errors.
    return {**base, "page": await org_page(ctx, slug) if isinstance(slug, str) else None}


async def _orgs_view(ctx: Context, base: dict[str, object]) -> dict[str, object]:
    user = ctx.require_user(SIGN_IN)
    return {**base, "orgs": await orgs.list_organizations(user.id)}


async def _invitation_view(ctx: Context, base: dict[str, object]) -> dict[str, object]:
    values = base.get("values")
    token = values.get("token", "") if isinstance(values, dict) else ""
    return {
        **base,
        "token": token,
        "invitation": await orgs.peek_invitation(str(token), _auth(ctx).clock()),
    }


def _on_org_page() -> dict[str, Any]:
    """Declaration options of the organization page's changes: signed in, re-rendered on refusal."""
    return {"signed_in": SIGN_IN, "page": ORG_PAGE, "view": _org_view}


def _scoped(ctx: Context, slug: str) -> None:
    """Name the organization for the page a refusal re-renders."""
    ctx.show(slug=slug)


def _back_to(ctx: Context, org: OrgAccess, message: str) -> None:
    ctx.redirect_to(f"/orgs/{org.slug}", flash=message)


# --- list and create ---------------------------------------------------------------------------


@query(path="/orgs", page=ORGS_PAGE, result_as="orgs", signed_in=SIGN_IN)
async def list_organizations(ctx: Context) -> list[OrgSummary]:
    """The signed-in user's organizations, with their role in each."""
    user = ctx.require_user(SIGN_IN)
    return await orgs.list_organizations(user.id)


@form(
    path="/orgs",
    signed_in=SIGN_IN,
    page=ORGS_PAGE,
    view=_orgs_view,
    rate_limit=RateLimit(limit=20, window_seconds=3600),
)
async def create_organization(ctx: Context, data: NewOrganization) -> OrgAccess:
    """Create an organization (the slug is made from the name when empty); you become its owner."""
    user = ctx.require_user(SIGN_IN)
    org = await orgs.create_organization(user, name=data.name, slug=data.slug, now=_auth(ctx).clock())
    if ctx.session is not None:
        await orgs.set_active(ctx.session.id, org)
    _back_to(ctx, org, f"{org.name} is created, and you are its owner.")
    return org


# --- one organization ------------------------------------------------------------------------


@query(path="/orgs/{slug}", page=ORG_PAGE, result_as="page", signed_in=SIGN_IN)
async def get_organization(ctx: Context, slug: str) -> OrgPage:
    """An organization's members (and, for owners and admins, its pending invitations)."""
    return await org_page(ctx, slug)


@command(path="/orgs/{slug}/switch", signed_in=SIGN_IN, redirect="/orgs")
async def switch_organization(ctx: Context, slug: str) -> OrgAccess:
    """Make this organization the session's active one (the header menu's switcher)."""
    _, session = ctx.require_session(SIGN_IN)
    org = await ctx.org_access(slug)
    await orgs.set_active(session.id, org)
    ctx.redirect_to(ctx.next or f"/orgs/{org.slug}", flash=f"Now working in {org.name}.")
    return org


@form(path="/orgs/{slug}/invitations", **_on_org_page())
async def invite_member(ctx: Context, slug: str, data: NewInvitation) -> InvitationView:
    """Mail a single-use, 7-day invitation link (owners and admins; only owners invite owners)."""
    _scoped(ctx, slug)
    user = ctx.require_user(SIGN_IN)
    org = await ctx.org_access(slug)
    auth = _auth(ctx)
    sent = await orgs.invite(auth, org, user, email=data.email, role=data.role, now=auth.clock())
    _back_to(ctx, org, f"Invitation sent to {sent.email}.")
    return sent


@command(path="/orgs/{slug}/invitations/{invitation_id}/revoke", **_on_org_page())
async def revoke_invitation(ctx: Context, slug: str, invitation_id: RowId) -> Done:
    """Withdraw a pending invitation: its link stops working."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.revoke_invitation(org, invitation_id)
    _back_to(ctx, org, "Invitation revoked.")
    return Done()


@form(path="/orgs/{slug}/members/{member_id}/role", **_on_org_page())
async def change_member_role(ctx: Context, slug: str, member_id: RowId, data: RoleChange) -> Done:
    """Change a member's role (owners: any; admins: between admin and member)."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.change_role(org, member_id, data.role)
    _back_to(ctx, org, "Role changed.")
    return Done()


@command(path="/orgs/{slug}/members/{member_id}/remove", **_on_org_page())
async def remove_member(ctx: Context, slug: str, member_id: RowId) -> Done:
    """Remove someone from the organization (never its last owner)."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.remove_member(org, member_id)
    if member_id == org.membership_id:
        ctx.redirect_to("/orgs", flash=f"You left {org.name}.")
    else:
        _back_to(ctx, org, "Member removed.")
    return Done()


@command(path="/orgs/{slug}/members/{member_id}/transfer", **_on_org_page())
async def transfer_ownership(ctx: Context, slug: str, member_id: RowId) -> Done:
    """Make another member the owner; you become an admin."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.transfer_ownership(org, member_id)
    _back_to(ctx, org, "Ownership transferred; you are now an admin.")
    return Done()


@command(path="/orgs/{slug}/leave", **_on_org_page())
async def leave_organization(ctx: Context, slug: str) -> Done:
    """Leave the organization (its last owner cannot: transfer ownership or delete it first)."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.leave(org)
    ctx.redirect_to("/orgs", flash=f"You left {org.name}.")
    return Done()


@form(path="/orgs/{slug}/delete", **_on_org_page())
async def delete_organization(ctx: Context, slug: str, data: DeleteConfirmation) -> Done:
    """Delete the organization and everything it holds (owners only; type its slug to confirm)."""
    _scoped(ctx, slug)
    org = await ctx.org_access(slug)
    await orgs.delete_organization(org, confirm=data.confirm)
    ctx.redirect_to("/orgs", flash=f"{org.name} is deleted.")
    return Done()


# --- invitations -----------------------------------------------------------------------------


@query(path="/invitations/accept", page=INVITATION_PAGE, result_as="invitation", public=True)
async def show_invitation(ctx: Context, token: str = "") -> InvitationPreview:
    """What an invitation link offers; accepting is a separate signed-in POST (mail scanners only GET)."""
    found = await orgs.peek_invitation(token, _auth(ctx).clock())
    if found is None:
        raise NotFound(orgs.INVALID_INVITATION)
    ctx.show(token=token)
    return found


@form(
    path="/invitations/accept",
    signed_in="Sign in (or sign up) with the invited address to accept the invitation",
    page=INVITATION_PAGE,
    view=_invitation_view,
)
async def accept_invitation(ctx: Context, data: InvitationToken) -> OrgAccess:
    """Join the organization with a mailed invitation (the signed-in, confirmed address must match)."""
    user = ctx.require_user()
    org = await orgs.accept_invitation(user, data.token, _auth(ctx).clock())
    if ctx.session is not None:
        await orgs.set_active(ctx.session.id, org)
    _back_to(ctx, org, f"Welcome to {org.name}.")
    return org
