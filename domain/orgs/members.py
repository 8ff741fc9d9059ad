"""Organizations and their members: who may do what, checked here for every caller (web, CLI, tests).

Roles: an `owner` may do everything; an `admin` invites (as admin or member), changes roles and
removes members among admins and members; a `member` may only leave. An organization always has an
owner: the last one can neither leave, be removed or demoted; they transfer ownership first or
delete the organization. A non-member asking about an organization gets NotFound, never Forbidden,
so slugs and ids of other tenants are not confirmed to exist.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import msgspec

from domain.auth.core import UNIQUE_VIOLATIONS, Auth, Limit, write_transaction
from domain.auth.events import auth_event
from domain.auth.tokens import hash_token, new_token
from domain.auth.types import AuthSession, AuthUser
from domain.auth.validation import clean_email, raise_if
from domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from domain.mail import Mail
from domain.orgs.tables import ActiveOrganization, Invitation, Membership, Organization

Role = Literal["owner", "admin", "member"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member")
RANK: dict[str, int] = {"member": 0, "admin": 1, "owner": 2}
INVITATION_TTL = timedelta(days=7)
INVITE_PATH = "/invitations/accept"
# Invitations mailed per organization per hour: enough for onboarding a team, not for spamming.
INVITE_LIMIT = Limit(30, 3600)
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?")
NOT_FOUND = "No such organization."
NO_MEMBER = "No such member in this organization."
NO_INVITATION = "No such invitation in this organization."
INVALID_INVITATION = "This invitation link is invalid, was already used or has expired."
LAST_OWNER = (
    "An organization always has an owner: make someone else owner first (or delete the organization)."
)


class OrgAccess(msgspec.Struct, frozen=True):
    """A user's standing in one organization: what a request scoped to it is allowed to touch."""

    org_id: int
    slug: str
    name: str
    user_id: int
    membership_id: int
    role: str

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


class OrgSummary(msgspec.Struct, frozen=True):
    id: int
    slug: str
    name: str
    role: str
    created_at: datetime


class MemberView(msgspec.Struct, frozen=True):
    id: int
    user_id: int
    name: str
    email: str
    role: str
    joined_at: datetime


class InvitationView(msgspec.Struct, frozen=True):
    id: int
    email: str
    role: str
    expires_at: datetime
    inviter: str


class InvitationPreview(msgspec.Struct, frozen=True):
    """What the accept page shows of a live invitation (the token's holder was mailed all of it)."""

    organization: str
    slug: str
    email: str
    role: str
    inviter: str
    expires_at: datetime


# --- reading -------------------------------------------------------------------------------


def _access_from(row: dict[str, Any], user_id: int) -> OrgAccess:
    return OrgAccess(
        org_id=row["organization.id"],
        slug=row["organization.slug"],
        name=row["organization.name"],
        user_id=user_id,
        membership_id=row["id"],
        role=row["role"],
    )


def _membership_select() -> Any:
    return Membership.select(
        Membership.id,
        Membership.role,
        Membership.organization.id,
        Membership.organization.slug,
        Membership.organization.name,
    )


async def access(user_id: int, slug: str) -> OrgAccess:
    """The user's standing in the organization `slug`; NotFound unless they are a member."""
    if not isinstance(slug, str) or SLUG.fullmatch(slug) is None:
        raise NotFound(NOT_FOUND)
    row = (
        await _membership_select()
        .where((Membership.user == user_id) & (Membership.organization.slug == slug))
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return _access_from(row, user_id)


async def _access_by_id(user_id: int, org_id: int) -> OrgAccess | None:
    row = (
        await _membership_select()
        .where((Membership.user == user_id) & (Membership.organization == org_id))
        .first()
    )
    return _access_from(row, user_id) if row else None


async def list_organizations(user_id: int) -> list[OrgSummary]:
    """The user's organizations, oldest membership first."""
    rows = await (
        Membership.select(
            Membership.organization.id,
            Membership.organization.slug,
            Membership.organization.name,
            Membership.organization.created_at,
            Membership.role,
        )
        .where(Membership.user == user_id)
        .order_by(Membership.id)
    )
    return [
        OrgSummary(
            id=r["organization.id"],
            slug=r["organization.slug"],
            name=r["organization.name"],
            role=r["role"],
            created_at=r["organization.created_at"],
        )
        for r in rows
    ]


async def members(org: OrgAccess) -> list[MemberView]:
    rows = await (
        Membership.select(
            Membership.id,
            Membership.user.id,
            Membership.user.name,
            Membership.user.email,
            Membership.role,
            Membership.created_at,
        )
        .where(Membership.organization == org.org_id)
        .order_by(Membership.id)
    )
    return [
        MemberView(
            id=r["id"],
            user_id=r["user.id"],
            name=r["user.name"],
            email=r["user.email"],
            role=r["role"],
            joined_at=r["created_at"],
        )
        for r in rows
    ]


async def invitations(org: OrgAccess, now: datetime) -> list[InvitationView]:
    """Pending invitations (expired ones are left out); only owners and admins see them."""
    if not org.at_least("admin"):
        return []
    rows = await (
        Invitation.select(
            Invitation.id, Invitation.email, Invitation.role, Invitation.expires_at, Invitation.inviter.name
        )
        .where((Invitation.organization == org.org_id) & (Invitation.expires_at > now))
        .order_by(Invitation.id)
    )
    return [
        InvitationView(
            id=r["id"],
            email=r["email"],
            role=r["role"],
            expires_at=r["expires_at"],
            inviter=r["inviter.name"] or "",
        )
        for r in rows
    ]


# --- creating and deleting --------------------------------------------------------------------


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48].strip("-")


def _clean_name(name: object, errors: dict[str, str]) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if not 1 <= len(text) <= 100:
        errors["name"] = "Give the organization a name of 1-100 characters."
    return text


def _clean_slug(slug: object, name: str, errors: dict[str, str]) -> str:
    text = (slug.strip().lower() if isinstance(slug, str) else "") or slugify(name)
    if SLUG.fullmatch(text) is None or len(text) < 2:
        errors["slug"] = "Use 2-48 lowercase letters, digits and dashes (not at either end)."
    return text


async def create_organization(user: AuthUser, *, name: str, slug: str, now: datetime) -> OrgAccess:
    """A new organization with `user` as its owner; the slug is taken from the name unless given."""
    errors: dict[str, str] = {}
    clean = _clean_name(name, errors)
    clean_slug = _clean_slug(slug, clean, errors)
    raise_if(errors)
    taken = Conflict("That slug is taken; choose another.", field_errors={"slug": "Already taken."})
    try:
        async with write_transaction():
            if await Organization.exists().where(Organization.slug == clean_slug):
                raise taken
            rows = await Organization.insert(
                Organization(name=clean, slug=clean_slug, created_at=now)
            ).returning(Organization.id)
            org_id = rows[0]["id"]
            membership = await Membership.insert(
                Membership(organization=org_id, user=user.id, role="owner", created_at=now)
            ).returning(Membership.id)
    except UNIQUE_VIOLATIONS:
        raise taken from None
    auth_event("org.create", org_id=org_id, user_id=user.id)
    return OrgAccess(
        org_id=org_id,
        slug=clean_slug,
        name=clean,
        user_id=user.id,
        membership_id=membership[0]["id"],
        role="owner",
    )


async def delete_organization(org: OrgAccess, *, confirm: str) -> None:
    """Owners only, confirmed by typing the slug: members, invitations and active choices go with it."""
    if not org.at_least("owner"):
        raise Forbidden("Only an owner can delete the organization.")
    if confirm.strip().lower() != org.slug:
        raise ValidationFailed(
            "Type the organization's slug to confirm.", field_errors={"confirm": f"Type {org.slug}."}
        )
    await Organization.delete().where(Organization.id == org.org_id)
    auth_event("org.delete", org_id=org.org_id, user_id=org.user_id)


# --- invitations ------------------------------------------------------------------------------


def _check_role(role: str, field: str = "role") -> Role:
    if role not in ROLES:
        raise ValidationFailed("Choose a role.", field_errors={field: "Choose owner, admin or member."})
    return role


async def invite(
    auth: Auth, org: OrgAccess, inviter: AuthUser, *, email: str, role: str, now: datetime
) -> InvitationView:
    """Mail a single-use, 7-day link to `email` (owners and admins; only owners invite owners).

    A newer invitation to the same address replaces the older one, whose link stops working.
    """
    if not org.at_least("admin"):
        raise Forbidden("Only owners and admins can invite people.")
    errors: dict[str, str] = {}
    address = clean_email(email, errors)
    if role not in ROLES:
        errors["role"] = "Choose owner, admin or member."
    raise_if(errors)
    if RANK[role] > RANK[org.role]:
        raise Forbidden("Only an owner can invite another owner.")
    if await Membership.exists().where(
        (Membership.organization == org.org_id) & (Membership.user.email == address)
    ):
        raise Conflict("That person is already a member.", field_errors={"email": "Already a member."})
    await auth.limit(f"org:invite:{org.org_id}", INVITE_LIMIT)
    token, token_hash = new_token()
    expires = now + INVITATION_TTL
    async with write_transaction():
        await Invitation.delete().where(
            (Invitation.organization == org.org_id) & (Invitation.email == address)
        )
        rows = await Invitation.insert(
            Invitation(
                organization=org.org_id,
                email=address,
                role=role,
                token_hash=token_hash,
                inviter=inviter.id,
                expires_at=expires,
                created_at=now,
            )
        ).returning(Invitation.id)
    link = auth.link(INVITE_PATH, token)
    await auth.send(
        Mail(
            to=address,
            subject=f"You are invited to join {org.name}",
            text=f"{inviter.name} invited you to join {org.name} as {role}.\n\n"
            f"Accept with this link (sign in or sign up with this address first):\n\n{link}\n\n"
            "It works once, for 7 days. If you did not expect it, ignore this message.\n",
            link=link,
        )
    )
    auth_event("org.invite", org_id=org.org_id, user_id=inviter.id, invitation_id=rows[0]["id"], role=role)
    return InvitationView(
        id=rows[0]["id"], email=address, role=role, expires_at=expires, inviter=inviter.name
    )


async def revoke_invitation(org: OrgAccess, invitation_id: int) -> None:
    if not org.at_least("admin"):
        raise Forbidden("Only owners and admins can revoke invitations.")
    gone = (
        await Invitation.delete()
        .where((Invitation.id == invitation_id) & (Invitation.organization == org.org_id))
        .returning(Invitation.id)
    )
    if not gone:
        raise NotFound(NO_INVITATION)
    auth_event("org.invitation_revoke", org_id=org.org_id, user_id=org.user_id, invitation_id=invitation_id)


async def peek_invitation(token: str, now: datetime) -> InvitationPreview | None:
    """The live invitation a link names, without using it up (the page shows it before accepting)."""
    if not token or len(token) > 200:
        return None
    row = (
        await Invitation.select(
            Invitation.organization.name,
            Invitation.organization.slug,
            Invitation.email,
            Invitation.role,
            Invitation.inviter.name,
            Invitation.expires_at,
        )
        .where(Invitation.token_hash == hash_token(token))
        .first()
    )
    if row is None or row["expires_at"] <= now:
        return None
    return InvitationPreview(
        organization=row["organization.name"],
        slug=row["organization.slug"],
        email=row["email"],
        role=row["role"],
        inviter=row["inviter.name"] or "",
        expires_at=row["expires_at"],
    )


async def accept_invitation(user: AuthUser, token: str, now: datetime) -> OrgAccess:
    """Join with an invitation: for the signed-in user whose confirmed address it was sent to, once.

    The link is a bearer secret sent to one mailbox; holding it is not enough, as links get forwarded
    and scanned. Like Better Auth's organization plugin the signed-in user's email must match, and
    here it must also be confirmed, so an unconfirmed account squatting that address cannot join.
    """
    preview = await peek_invitation(token, now)
    if preview is None:
        raise NotFound(INVALID_INVITATION)
    if user.email != preview.email:
        raise Forbidden(
            f"This invitation was sent to {preview.email}. Sign in with that address to accept it."
        )
    if not user.email_verified:
        raise Forbidden("Confirm your email address first (follow the link we mailed you), then accept.")
    async with write_transaction():
        used = (
            await Invitation.delete()
            .where((Invitation.token_hash == hash_token(token)) & (Invitation.expires_at > now))
            .returning(Invitation.organization, Invitation.role, Invitation.id)
        )
        if not used:
            raise NotFound(INVALID_INVITATION)
        org_id, role = used[0]["organization"], used[0]["role"]
        existing = await _access_by_id(user.id, org_id)
        if existing is None:
            await Membership.insert(Membership(organization=org_id, user=user.id, role=role, created_at=now))
    joined = await _access_by_id(user.id, org_id)
    if joined is None:  # the organization was deleted meanwhile
        raise NotFound(INVALID_INVITATION)
    auth_event("org.accept", org_id=org_id, user_id=user.id, invitation_id=used[0]["id"], role=joined.role)
    return joined


# --- roles and membership ---------------------------------------------------------------------


async def _lock(org_id: int) -> None:
    """Inside write_transaction: serialise changes to one organization's owners.

    SQLite's immediate transaction already holds the database's write lock; PostgreSQL locks the
    organization's row, so two owners leaving at once cannot both see the other still there.
    """
    if Organization._meta.db.engine_type == "postgres":
        await Organization.select(Organization.id).where(Organization.id == org_id).lock_rows("UPDATE")


async def _target(org: OrgAccess, membership_id: int) -> dict[str, Any]:
    row = (
        await Membership.select(Membership.id, Membership.user, Membership.role)
        .where((Membership.id == membership_id) & (Membership.organization == org.org_id))
        .first()
    )
    if row is None:
        raise NotFound(NO_MEMBER)
    return row


async def _owners(org_id: int) -> int:
    return cast(
        int,
        await Membership.count().where((Membership.organization == org_id) & (Membership.role == "owner")),
    )


async def _current_role(org: OrgAccess) -> str:
    """The caller's role re-read inside the transaction (it may have changed since the request began)."""
    row = await Membership.select(Membership.role).where(Membership.id == org.membership_id).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return cast(str, row["role"])


async def change_role(org: OrgAccess, membership_id: int, role: str) -> None:
    """Owners change anyone's role; admins move people between admin and member, never touching owners."""
    new_role = _check_role(role)
    if not org.at_least("admin"):
        raise Forbidden("Only owners and admins can change roles.")
    async with write_transaction():
        await _lock(org.org_id)
        mine = await _current_role(org)
        target = await _target(org, membership_id)
        if RANK[mine] < RANK["owner"] and (target["role"] == "owner" or new_role == "owner"):
            raise Forbidden("Only an owner can make or unmake owners.")
        if target["role"] == "owner" and new_role != "owner" and await _owners(org.org_id) <= 1:
            raise Conflict(LAST_OWNER)
        await Membership.update({Membership.role: new_role}).where(Membership.id == membership_id)
    auth_event(
        "org.role_change",
        org_id=org.org_id,
        user_id=org.user_id,
        member_user_id=target["user"],
        old=target["role"],
        new=new_role,
    )


async def remove_member(org: OrgAccess, membership_id: int) -> None:
    """Owners remove anyone but the last owner; admins remove admins and members. Leaving is `leave`."""
    if membership_id == org.membership_id:
        await leave(org)
        return
    if not org.at_least("admin"):
        raise Forbidden("Only owners and admins can remove members.")
    async with write_transaction():
        await _lock(org.org_id)
        mine = await _current_role(org)
        target = await _target(org, membership_id)
        if target["role"] == "owner" and RANK[mine] < RANK["owner"]:
            raise Forbidden("Only an owner can remove an owner.")
        if target["role"] == "owner" and await _owners(org.org_id) <= 1:
            raise Conflict(LAST_OWNER)
        await Membership.delete().where(Membership.id == membership_id)
    auth_event("org.remove", org_id=org.org_id, user_id=org.user_id, member_user_id=target["user"])


async def leave(org: OrgAccess) -> None:
    """Leave the organization; the last owner cannot (transfer ownership or delete it first)."""
    async with write_transaction():
        await _lock(org.org_id)
        if await _current_role(org) == "owner" and await _owners(org.org_id) <= 1:
            raise Conflict(LAST_OWNER)
        await Membership.delete().where(Membership.id == org.membership_id)
    auth_event("org.leave", org_id=org.org_id, user_id=org.user_id)


async def transfer_ownership(org: OrgAccess, membership_id: int) -> None:
    """An owner hands ownership to another member and becomes an admin, in one transaction."""
    if not org.at_least("owner"):
        raise Forbidden("Only an owner can transfer ownership.")
    if membership_id == org.membership_id:
        raise ValidationFailed("Choose another member.", field_errors={"member_id": "Choose another member."})
    async with write_transaction():
        await _lock(org.org_id)
        if await _current_role(org) != "owner":
            raise Forbidden("Only an owner can transfer ownership.")
        target = await _target(org, membership_id)
        await Membership.update({Membership.role: "owner"}).where(Membership.id == membership_id)
        await Membership.update({Membership.role: "admin"}).where(Membership.id == org.membership_id)
    auth_event("org.transfer", org_id=org.org_id, user_id=org.user_id, member_user_id=target["user"])


# --- the active organization of a session ------------------------------------------------------


async def set_active(session_id: int, org: OrgAccess) -> None:
    """Make `org` the session's active organization (the caller already holds access to it)."""
    async with write_transaction():
        await ActiveOrganization.delete().where(ActiveOrganization.session == session_id)
        await ActiveOrganization.insert(ActiveOrganization(session=session_id, organization=org.org_id))
    auth_event("org.switch", org_id=org.org_id, user_id=org.user_id, session_id=session_id)


async def chosen_organization(session_id: int) -> int | None:
    """The organization id the session switched to (membership not checked: callers match it)."""
    row = (
        await ActiveOrganization.select(ActiveOrganization.organization)
        .where(ActiveOrganization.session == session_id)
        .first()
    )
    return None if row is None else int(row["organization"])


async def active_tenant(user: AuthUser | None, session: AuthSession | None) -> str | None:
    """The app's tenant hook (`Services.tenant_of`, domain/tenancy.py): the active organization's slug."""
    if user is None:
        return None
    org = await active_organization(user.id, session.id if session is not None else None)
    return None if org is None else org.slug


async def active_organization(user_id: int, session_id: int | None) -> OrgAccess | None:
    """The session's chosen organization while the user is still a member, else their first one.

    Membership is re-read on every call, so a removed member loses access with their next request.
    """
    chosen_id = await chosen_organization(session_id) if session_id is not None else None
    if chosen_id is not None:
        chosen = await _access_by_id(user_id, chosen_id)
        if chosen is not None:
            return chosen
    first = await _membership_select().where(Membership.user == user_id).order_by(Membership.id).first()
    return _access_from(first, user_id) if first else None


# --- the admin panel ---------------------------------------------------------------------------


async def check_panel_removal(membership_id: int, *, by: int | None) -> None:
    """Before the admin panel deletes a membership: never an organization's last owner."""
    row = (
        await Membership.select(Membership.organization, Membership.user, Membership.role)
        .where(Membership.id == membership_id)
        .first()
    )
    if row is None:
        return
    if row["role"] == "owner" and await _owners(row["organization"]) <= 1:
        raise Conflict(LAST_OWNER)
    auth_event("admin.org_member_removed", org_id=row["organization"], user_id=row["user"], by=by)


def panel_deletion_logged(org_id: int, *, by: int | None) -> None:
    auth_event("admin.org_deleted", org_id=org_id, by=by)


async def release_user(user_id: int) -> None:
    """Before a user is deleted: organizations they are alone in go too; as another's last owner, Conflict.

    Memberships themselves go with the user row (cascade); this keeps every remaining organization owned.
    """
    rows = await Membership.select(Membership.organization, Membership.organization.name).where(
        (Membership.user == user_id) & (Membership.role == "owner")
    )
    alone: list[int] = []
    for row in rows:
        org_id = row["organization"]
        if await _owners(org_id) > 1:
            continue
        if await Membership.count().where(Membership.organization == org_id) > 1:
            raise Conflict(
                f"You are the last owner of {row['organization.name']}: make someone else owner "
                "or delete the organization first."
            )
        alone.append(org_id)
    if alone:
        await Organization.delete().where(Organization.id.is_in(alone))
        for org_id in alone:
            auth_event("org.delete", org_id=org_id, user_id=user_id, reason="owner_deleted")
