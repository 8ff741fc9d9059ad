"""Piccolo tables for auth: users, sessions, accounts, verifications, passkeys and two-factor."""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class User(Table, tablename="users"):
    """A person who can sign in; `email` is stored lowercased so uniqueness ignores case."""

    id: Serial  # added by Piccolo; declared for type checkers
    email = Varchar(length=320, unique=True, index=True)
    name = Varchar(length=100)
    avatar = Varchar(length=2048, null=True, default=None)
    email_verified = Boolean(default=False)
    is_admin = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Bumped when every session ends (password change or reset, "sign out everywhere"): device
    # cookies signed with an older value stop counting as known devices.
    device_generation = Integer(default=0)


class Session(Table, tablename="sessions"):
    """A signed-in browser; only the sha256 of its cookie token is stored."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()
    last_seen = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=512, default="")


class Account(Table, tablename="accounts"):
    """A way to sign in: provider `credentials` holds the password hash, OAuth providers their tokens."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    provider = Varchar(length=32)
    provider_account_id = Varchar(length=255)
    password_hash = Text(null=True, default=None)
    access_token = Text(null=True, default=None)
    refresh_token = Text(null=True, default=None)
    id_token = Text(null=True, default=None)
    access_token_expires_at = Timestamptz(null=True, default=None)
    scope = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


# (provider, provider_account_id) is unique through an index the first migration creates with raw
# SQL: Piccolo's Unique constraint becomes ALTER TABLE ... ADD CONSTRAINT, which SQLite lacks.
ACCOUNT_UNIQUE_INDEX = "accounts_provider_account_unique"


class Verification(Table, tablename="verifications"):
    """A single-use emailed token (hash only) for verifying an email, changing it or resetting a password."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)
    token_hash = Varchar(length=64, unique=True, index=True)
    # The new address for an email change; empty otherwise.
    new_email = Varchar(length=320, default="")
    # A sign-up's chosen password and name travel with its link and apply only when it is followed
    # (see domain/auth/ownership.py); `binding_hash` names the browser that signed up.
    password_hash = Text(null=True, default=None)
    name = Varchar(length=100, default="")
    binding_hash = Varchar(length=64, default="")
    expires_at = Timestamptz()
    created_at = Timestamptz()


class Passkey(Table, tablename="passkeys"):
    """A WebAuthn credential: its id and COSE public key as base64url, never a private secret."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    credential_id = Varchar(length=1400, unique=True, index=True)
    public_key = Text()
    sign_count = BigInt(default=0)
    # The WebAuthn user handle (random, per user): an authenticator keys its passkeys by it.
    user_handle = Varchar(length=128)
    transports = Varchar(length=200, default="")
    name = Varchar(length=100)
    # A passkey made while signing up lives only through the sign-up link followed in the browser
    # whose binding secret this hashes (domain/auth/ownership.py); empty afterwards and otherwise.
    binding_hash = Varchar(length=64, default="")
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)


class TwoFactor(Table, tablename="two_factor"):
    """A user's TOTP secret (AES-GCM encrypted with a key from AUTH_SECRET) and its state."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True, index=True)
    secret = Text()
    confirmed = Boolean(default=False)
    # The newest time-step a code was accepted for: that step and earlier ones are refused after.
    last_step = BigInt(default=0)
    created_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)


class BackupCode(Table, tablename="backup_codes"):
    """A single-use recovery code for two-factor sign-in, stored as a peppered HMAC-SHA256."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
