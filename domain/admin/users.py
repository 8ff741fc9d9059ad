"""Operator use cases on users: create or promote an admin, demote one, list everyone, panel writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.admin.bridge import close_admin_access
from domain.auth.account import erase_user
from domain.auth.clock import utc_now
from domain.auth.core import CREDENTIALS, UNIQUE_VIOLATIONS, Auth, write_transaction
from domain.auth.events import auth_event
from domain.auth.notices import MailSender, method_changed
from domain.auth.passkeys import delete_passkey
from domain.auth.passwords import PasswordHasher, password_problem
from domain.auth.tables import Account, Passkey, User
from domain.auth.totp import remove_two_factor
from domain.auth.validation import clean_email, clean_name, normalize_email
from domain.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    name: str
    email_verified: bool
    is_admin: bool
    created_at: datetime


def _row(raw: dict[str, Any]) -> UserRow:
    return UserRow(
        id=int(raw["id"]),
        email=str(raw["email"]),
        name=str(raw["name"]),
        email_verified=bool(raw["email_verified"]),
        is_admin=bool(raw["is_admin"]),
        created_at=raw["created_at"],
    )


_COLUMNS = (User.id, User.email, User.name, User.email_verified, User.is_admin, User.created_at)


async def find_user(email: str) -> UserRow | None:
    row = await User.select(*_COLUMNS).where(User.email == normalize_email(email)).first()
    return _row(row) if row else None


async def list_users() -> list[UserRow]:
    return [_row(row) for row in await User.select(*_COLUMNS).order_by(User.id)]


def check_new_admin(email: str, name: str) -> tuple[str, str]:
    """The cleaned email and name, or ValidationFailed naming what is wrong."""
    errors: dict[str, str] = {}
    email = clean_email(email, errors)
    name = clean_name(name or email.split("@", 1)[0], errors)
    if errors:
        raise ValidationFailed(
            "; ".join(f"{field}: {msg}" for field, msg in errors.items()), field_errors=errors
        )
    return email, name


def check_password(password: str, *, email: str, name: str) -> None:
    """The auth module's password rules, as a ValidationFailed."""
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise ValidationFailed(f"password: {problem}", field_errors={"password": problem})


async def create_admin(email: str, name: str, password: str, hasher: PasswordHasher) -> UserRow:
    """A new admin who signs in with `password`; their email counts as verified (an operator vouched)."""
    email, name = check_new_admin(email, name)
    check_password(password, email=email, name=name)
    password_hash = await hasher.hash(password)
    now = utc_now()
    try:
        async with write_transaction():
            rows = await User.insert(
                User(
                    email=email,
                    name=name,
                    email_verified=True,
                    is_admin=True,
                    created_at=now,
                    updated_at=now,
                )
            ).returning(User.id)
            user_id = rows[0]["id"]
            await Account.insert(
                Account(
                    user=user_id,
                    provider=CREDENTIALS,
                    provider_account_id=str(user_id),
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
            )
    except UNIQUE_VIOLATIONS as exc:
        raise Conflict(f"a user with email {email} already exists") from exc
    created = await find_user(email)
    assert created is not None
    return created


async def set_admin(email: str, is_admin: bool) -> UserRow:
    """Promote or demote the user with `email`; a demotion also ends their admin panel access."""
    user = await find_user(email)
    if user is None:
        raise NotFound(f"no user with email {normalize_email(email)}")
    now = utc_now()
    await User.update({User.is_admin: is_admin, User.updated_at: now}).where(User.id == user.id)
    if not is_admin:
        await close_admin_access(user.id)
    updated = await find_user(email)
    assert updated is not None
    return updated


@dataclass(frozen=True, slots=True)
class NewUser:
    """What a user added from the admin panel starts with, whatever the form sent."""

    email: str
    name: str
    created_at: datetime
    # Unconfirmed, not an admin, no password: they get in by "forgot password", which proves the mailbox.
    email_verified: bool = False
    is_admin: bool = False


def new_user_from_panel(email: str, name: str) -> NewUser:
    """The cleaned row for a user the panel creates, or ValidationFailed naming what is wrong."""
    email, name = check_new_admin(email, name)
    return NewUser(email=email, name=name, created_at=utc_now())


async def delete_user_from_panel(auth: Auth, user_id: int, *, by: int | None) -> None:
    """Everything of the user goes now: sessions (and their cached copies), sign-in methods, links."""
    await close_admin_access(user_id)
    await erase_user(auth, user_id)
    auth_event("admin.user_deleted", user_id=user_id, by=by)


async def reset_two_factor(mailer: MailSender, base_url: str, user_id: int, *, by: int | None) -> bool:
    """Turn a user's two-factor sign-in off (lost phone and backup codes); True when it had been on.

    Their password, passkeys and sessions stay; the owner is mailed so a reset they did not ask for shows.
    """
    removed = await remove_two_factor(user_id)
    if removed:
        await method_changed(
            mailer,
            base_url,
            user_id,
            "two_factor.reset_by_admin",
            "An administrator turned off two-factor sign-in for your account. "
            "Set it up again from your account page.",
            by=by,
        )
    return removed


async def reset_two_factor_by_email(mailer: MailSender, base_url: str, email: str) -> tuple[UserRow, bool]:
    """`reset_two_factor` for the user with `email` (the `users reset-2fa` command)."""
    user = await find_user(email)
    if user is None:
        raise NotFound(f"no user with email {normalize_email(email)}")
    return user, await reset_two_factor(mailer, base_url, user.id, by=None)


async def delete_passkey_from_panel(auth: Auth, passkey_id: int, *, by: int | None) -> None:
    """Remove a passkey as its owner would (event and mail to the owner); gone already is fine."""
    row = await Passkey.select(Passkey.user).where(Passkey.id == passkey_id).first()
    if row is not None:
        await delete_passkey(auth, row["user"], passkey_id)
        auth_event("admin.passkey_deleted", user_id=row["user"], passkey_id=passkey_id, by=by)
