"""Signed-in account use cases: profile, password, email change, sessions, deletion."""

from __future__ import annotations

import logging

from domain.auth.core import CHANGE_EMAIL, CREDENTIALS, Auth, write_transaction
from domain.auth.events import auth_event
from domain.auth.ownership import revoke_older_tokens, set_password
from domain.auth.sessions import SessionView, load_user
from domain.auth.tables import Account, Session, User, Verification
from domain.auth.types import AuthUser
from domain.auth.validation import clean_avatar, clean_email, clean_name, clean_new_password, raise_if
from domain.errors import NotFound, ValidationFailed
from domain.mail import Mail
from domain.orgs.members import release_user

WRONG_PASSWORD = "That is not your current password."


async def get_profile(auth: Auth, user_id: int) -> AuthUser:
    user = await load_user(user_id)
    if user is None:
        raise NotFound("That account no longer exists.")
    return user


async def update_profile(auth: Auth, user_id: int, *, name: str, avatar: str) -> AuthUser:
    """Change the display name and avatar URL (http(s) or empty)."""
    errors: dict[str, str] = {}
    clean = clean_name(name, errors)
    avatar_url = clean_avatar(avatar, errors)
    raise_if(errors)
    await User.update({User.name: clean, User.avatar: avatar_url, User.updated_at: auth.clock()}).where(
        User.id == user_id
    )
    await auth.sessions.invalidate_user(user_id)
    return await get_profile(auth, user_id)


async def has_password(user_id: int) -> bool:
    row = (
        await Account.select(Account.password_hash)
        .where((Account.user == user_id) & (Account.provider == CREDENTIALS))
        .first()
    )
    return bool(row and row["password_hash"])


async def check_password(auth: Auth, user: AuthUser, password: str, field: str = "current_password") -> None:
    """Confirm the user's own password before a sensitive change (rate-limited per user)."""
    row = (
        await Account.select(Account.password_hash)
        .where((Account.user == user.id) & (Account.provider == CREDENTIALS))
        .first()
    )
    if not row or not row["password_hash"]:
        return  # OAuth-only accounts have no password to confirm.
    if not password:
        raise ValidationFailed(
            "Enter your current password.", field_errors={field: "Enter your current password."}
        )
    await auth.limit(f"password_check:user:{user.id}", auth.limits.password_check)
    if not await auth.hasher.verify(row["password_hash"], password):
        auth_event("password_check.failure", level=logging.WARNING, user_id=user.id)
        raise ValidationFailed(WRONG_PASSWORD, field_errors={field: WRONG_PASSWORD})


async def change_password(
    auth: Auth, user: AuthUser, *, current_session_id: int, current_password: str, new_password: str
) -> int:
    """Set a new password and sign out every other session; returns how many were signed out."""
    errors: dict[str, str] = {}
    clean_new_password(new_password, errors, email=user.email, name=user.name, field="new_password")
    raise_if(errors)
    await check_password(auth, user, current_password)
    await set_password(auth, user.id, await auth.hasher.hash(new_password))
    ended = await revoke_older_tokens(auth, user.id, keep_session_id=current_session_id)
    auth_event("password.changed", user_id=user.id, other_sessions_ended=ended)
    await auth.send(
        Mail(
            to=user.email,
            subject="Your password was changed",
            text="The password of your account was just changed and other devices were signed out.\n"
            f"If this was not you, reset it now: {auth.base_url}/auth/forgot-password\n",
        )
    )
    return ended


async def request_email_change(auth: Auth, user: AuthUser, *, new_email: str, current_password: str) -> str:
    """Mail a confirmation link to the new address; the email changes only when it is followed."""
    errors: dict[str, str] = {}
    email = clean_email(new_email, errors, field="new_email")
    if not errors and email == user.email:
        errors["new_email"] = "That is already your email address."
    raise_if(errors)
    await check_password(auth, user, current_password)
    auth_event("email_change.requested", user_id=user.id)
    # After the answer, and the same mail to the requester either way: nothing tells whether `email` is taken.
    auth.in_background(_mail_email_change(auth, user, email), "email change mail")
    return email


async def _mail_email_change(auth: Auth, user: AuthUser, email: str) -> None:
    taken = await User.exists().where(User.email == email)
    auth_event("email_change.mailed", user_id=user.id, taken=taken)
    await auth.send(
        Mail(
            to=user.email,
            subject="Email change requested",
            text=f"Someone asked to change your account's email to {email}. "
            "Nothing changes until the new address is confirmed. "
            "If this was not you, change your password.\n",
        )
    )
    if taken:
        await auth.send(
            Mail(
                to=email,
                subject="Someone tried to use your address",
                text="Someone asked to move another account to this address, which already has an account. "
                "Nothing has changed.\n",
            )
        )
        return
    token = await auth.issue_token(user.id, CHANGE_EMAIL, new_email=email)
    link = auth.link("/auth/verify", token)
    await auth.send(
        Mail(
            to=email,
            subject="Confirm your new email address",
            text=f"Hi {user.name},\n\nConfirm this address for your account:\n\n{link}\n\n"
            "The link works once and expires in 24 hours.\n",
            link=link,
        )
    )


async def list_sessions(auth: Auth, user_id: int, current_session_id: int | None) -> list[SessionView]:
    return await auth.sessions.list_for_user(user_id, current_id=current_session_id)


async def revoke_session(auth: Auth, user_id: int, session_id: int) -> None:
    if not await auth.sessions.revoke(user_id, session_id):
        raise NotFound("That session has already ended.")


async def revoke_other_sessions(auth: Auth, user_id: int, current_session_id: int) -> int:
    """Sign out everywhere else: every other session and every emailed link of the account end."""
    return await revoke_older_tokens(auth, user_id, keep_session_id=current_session_id)


async def delete_account(auth: Auth, user: AuthUser, *, current_password: str, confirm_email: str) -> None:
    """Delete the user and everything that hangs off it, after the password (or, without one, the email)."""
    if await has_password(user.id):
        await check_password(auth, user, current_password)
    elif confirm_email.strip().lower() != user.email:
        message = "Type your email address to confirm."
        raise ValidationFailed(message, field_errors={"confirm_email": message})
    await erase_user(auth, user.id)
    auth_event("account.deleted", user_id=user.id)


async def erase_user(auth: Auth, user_id: int) -> None:
    """Remove a user with their sessions (cached copies too), sign-in methods and emailed links.

    Organizations they are alone in go too; the last owner of one with other members is refused first.
    """
    await release_user(user_id)
    await auth.sessions.revoke_all(user_id)
    async with write_transaction():
        await Verification.delete().where(Verification.user == user_id)
        await Session.delete().where(Session.user == user_id)
        await Account.delete().where(Account.user == user_id)
        await User.delete().where(User.id == user_id)
    await auth.sessions.invalidate_user(user_id)
