"""What the admin panel may see of the auth tables: the same tables, minus every hash and token.

These classes map onto the tables `domain.auth.tables` owns (and migrates) but declare only
the columns an operator may read or edit, so piccolo-admin can neither show nor write a password
hash, a session or verification token hash, or an OAuth token: the columns simply are not there.
They are not part of any Piccolo app, so migrations never see them.
"""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, ForeignKey, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.readable import Readable
from piccolo.table import Table


class UserRecord(Table, tablename="users"):
    id: Serial  # added by Piccolo; declared for type checkers
    email = Varchar(length=320, unique=True, index=True)
    name = Varchar(length=100)
    avatar = Varchar(length=2048, null=True, default=None)
    email_verified = Boolean(default=False)
    is_admin = Boolean(default=False, help_text="May open the admin panel and the actor inspector.")
    created_at = Timestamptz()
    updated_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.email])


class SessionRecord(Table, tablename="sessions"):
    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()
    last_seen = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=512, default="")


class AccountRecord(Table, tablename="accounts"):
    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, index=True)
    provider = Varchar(length=32)
    provider_account_id = Varchar(length=255)
    access_token_expires_at = Timestamptz(null=True, default=None)
    scope = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class VerificationRecord(Table, tablename="verifications"):
    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)
    new_email = Varchar(length=320, default="")
    name = Varchar(length=100, default="")
    expires_at = Timestamptz()
    created_at = Timestamptz()


class PasskeyRecord(Table, tablename="passkeys"):
    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    transports = Varchar(length=200, default="")
    sign_count = BigInt(default=0)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)


class TwoFactorRecord(Table, tablename="two_factor"):
    """One row per user who started two-factor enrolment; `confirmed` means it is on."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, unique=True, index=True)
    confirmed = Boolean(default=False, help_text="Two-factor sign-in is on.")
    created_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)


class OrganizationRecord(Table, tablename="organizations"):
    id: Serial  # added by Piccolo; declared for type checkers
    name = Varchar(length=100)
    slug = Varchar(length=48, unique=True, index=True)
    created_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.slug])


class MembershipRecord(Table, tablename="memberships"):
    id: Serial  # added by Piccolo; declared for type checkers
    organization = ForeignKey(references=OrganizationRecord, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=UserRecord, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16, help_text="owner, admin or member.")
    created_at = Timestamptz()


class InvitationRecord(Table, tablename="invitations"):
    """A pending invitation; deleting it revokes the mailed link."""

    id: Serial  # added by Piccolo; declared for type checkers
    organization = ForeignKey(references=OrganizationRecord, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=320, index=True)
    role = Varchar(length=16)
    inviter = ForeignKey(references=UserRecord, on_delete=OnDelete.set_null, null=True, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()


# Columns of the real tables the records above leave out on purpose (tests check the list is complete).
HIDDEN_COLUMNS = {
    "sessions": {"token_hash"},
    "accounts": {"password_hash", "access_token", "refresh_token", "id_token"},
    "verifications": {"token_hash", "password_hash", "binding_hash"},
    # Internal bookkeeping of device cookies (domain/auth/device_cookie.py), not for editing by hand.
    "users": {"device_generation"},
    # Key material and what ties a credential to an authenticator or a sign-up browser.
    "passkeys": {"credential_id", "public_key", "user_handle", "binding_hash"},
    "two_factor": {"secret", "last_step"},
    "organizations": set(),
    "memberships": set(),
    "invitations": {"token_hash"},
}
