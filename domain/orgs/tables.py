"""Piccolo tables for organizations, their members, invitations and each session's active one."""

from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

from domain.auth.tables import Session, User


class Organization(Table, tablename="organizations"):
    """A tenant: every tenant-owned row and actor key hangs off its id or its (unique) slug."""

    id: Serial  # added by Piccolo; declared for type checkers
    name = Varchar(length=100)
    slug = Varchar(length=48, unique=True, index=True)
    created_at = Timestamptz()


class Membership(Table, tablename="memberships"):
    """A user's role in an organization; (organization, user) is unique (an index the migration makes)."""

    id: Serial  # added by Piccolo; declared for type checkers
    organization = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16)
    created_at = Timestamptz()


MEMBERSHIP_UNIQUE_INDEX = "memberships_organization_user_unique"


class Invitation(Table, tablename="invitations"):
    """An emailed, single-use invitation (sha256 of its token only); deleted when accepted or revoked."""

    id: Serial  # added by Piccolo; declared for type checkers
    organization = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=320, index=True)
    role = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True, index=True)
    # Who sent it; kept (as null) if their account goes.
    inviter = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()


class ActiveOrganization(Table, tablename="active_organizations"):
    """The organization a session works in; the row goes with the session or the organization."""

    id: Serial  # added by Piccolo; declared for type checkers
    session = ForeignKey(references=Session, on_delete=OnDelete.cascade, unique=True, index=True)
    organization = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
