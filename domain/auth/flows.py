"""Signed-out flows: sign up, verify email, sign in and out, forgot and reset password."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from domain.auth.core import (
    CHANGE_EMAIL,
    CREDENTIALS,
    UNIQUE_VIOLATIONS,
    VERIFY_EMAIL,
    Auth,
    write_transaction,
)
from domain.auth.device_cookie import limit_sign_in
from domain.auth.events import auth_event
from domain.auth.passwords import MAX_LENGTH
from domain.auth.sessions import load_user
from domain.auth.tables import Account, User
from domain.auth.types import AuthSession, AuthUser
from domain.auth.validation import (
    clean_email,
    clean_name,
    clean_new_password,
    normalize_email,
    raise_if,
)
from domain.errors import Conflict, Forbidden, ValidationFailed
from domain.mail import Mail

INVALID_CREDENTIALS = "Incorrect email or password."
INVALID_LINK = "This link is invalid or has expired. Request a new one."


class EmailNotVerified(Forbidden):
    """Right password, but the address is not confirmed yet (a fresh link has been sent)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: `token` goes into the cookie and nowhere else."""

    token: str
    session: AuthSession
    user: AuthUser


def email_ref(email: str) -> str:
    """A short stable reference to an address for logs, which must not hold the address itself."""
    return hashlib.sha256(email.encode()).hexdigest()[:12]


async def send_verification(auth: Auth, user_id: int, email: str, name: str) -> None:
    token = await auth.issue_token(user_id, VERIFY_EMAIL)
    link = auth.link("/auth/verify", token)
    auth.send(
        Mail(
            to=email,
            subject="Confirm your email address",
            text=f"Hi {name},\n\nConfirm your email address to finish signing up:\n\n{link}\n\n"
            "The link works once and expires in 24 hours. If you did not sign up, ignore this message.\n",
            link=link,
        )
    )


async def sign_up(auth: Auth, *, name: str, email: str, password: str, ip: str) -> str:
    """Create an unverified user and mail a confirmation link; returns the normalized email.

    When the email is taken the answer is the same (the owner gets a mail instead), so sign-up
    does not reveal which addresses have accounts.
    """
    errors: dict[str, str] = {}
    name = clean_name(name, errors)
    email = clean_email(email, errors)
    clean_new_password(password, errors, email=email, name=name)
    raise_if(errors)
    await auth.limit(f"signup:ip:{ip}", auth.limits.sign_up)
    # Hash first, whatever happens next: known and unknown emails take the same time.
    password_hash = await auth.hasher.hash(password)
    existing = await User.select(User.id, User.name, User.email_verified).where(User.email == email).first()
    if existing is None:
        now = auth.clock()
        try:
            async with write_transaction():
                rows = await User.insert(
                    User(email=email, name=name, created_at=now, updated_at=now)
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
        except UNIQUE_VIOLATIONS:
            existing = (
                await User.select(User.id, User.name, User.email_verified).where(User.email == email).first()
            )
        else:
            auth_event("sign_up", user_id=user_id, ip=ip)
            await send_verification(auth, user_id, email, name)
            return email
    if existing is not None:
        auth_event("sign_up.existing_email", user_id=existing["id"], ip=ip)
        if not existing["email_verified"]:
            await send_verification(auth, existing["id"], email, existing["name"])
        else:
            auth.send(
                Mail(
                    to=email,
                    subject="You already have an account",
                    text="Someone (hopefully you) tried to sign up with this address, which already has an "
                    f"account.\n\nSign in: {auth.base_url}/auth/sign-in\nForgot your password? "
                    f"{auth.base_url}/auth/forgot-password\n",
                )
            )
    return email


async def verify_email(auth: Auth, token: str) -> AuthUser:
    """Confirm the address a link was sent to (sign-up or email change); the link then stops working."""
    row = await auth.consume_token(token, (VERIFY_EMAIL, CHANGE_EMAIL))
    if row is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    user_id: int = row["user"]
    now = auth.clock()
    if row["purpose"] == CHANGE_EMAIL:
        new_email = row["new_email"]
        try:
            await User.update({User.email: new_email, User.email_verified: True, User.updated_at: now}).where(
                User.id == user_id
            )
        except UNIQUE_VIOLATIONS:
            raise Conflict("That email address now belongs to another account.") from None
        auth_event("email.changed", user_id=user_id)
    else:
        await User.update({User.email_verified: True, User.updated_at: now}).where(User.id == user_id)
        auth_event("email.verified", user_id=user_id)
    await auth.sessions.invalidate_user(user_id)
    user = await load_user(user_id)
    if user is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    return user


async def resend_verification(auth: Auth, *, email: str, ip: str) -> None:
    """Mail a new confirmation link if `email` has an unverified account; the same answer either way."""
    errors: dict[str, str] = {}
    email = clean_email(email, errors)
    raise_if(errors)
    await auth.limit(f"reset:ip:{ip}", auth.limits.reset)
    await auth.limit(f"reset:email:{email}", auth.limits.reset)
    auth.in_background(_resend(auth, email), "verification mail")


async def _resend(auth: Auth, email: str) -> None:
    row = await User.select(User.id, User.name, User.email_verified).where(User.email == email).first()
    if row is not None and not row["email_verified"]:
        await send_verification(auth, row["id"], email, row["name"])


async def sign_in(
    auth: Auth, *, email: str, password: str, ip: str, user_agent: str, device_cookie: str = ""
) -> SignedIn:
    """Check the password (limited first per IP, then per known device or else per email); start a session."""
    email = normalize_email(email)
    if not email or not password:
        errors = {"email": "Enter your email address."} if not email else {}
        if not password:
            errors["password"] = "Enter your password."
        raise ValidationFailed("Enter your email and password.", field_errors=errors)
    await auth.limit(f"signin:ip:{ip}", auth.limits.sign_in)
    await limit_sign_in(auth, email=email, device_cookie=device_cookie)
    row = (
        await Account.select(
            Account.id, Account.password_hash, Account.user.id, Account.user.email_verified, Account.user.name
        )
        .where((Account.provider == CREDENTIALS) & (Account.user.email == email))
        .first()
    )
    if len(password) > MAX_LENGTH * 8:
        ok = False
    elif row is None or not row["password_hash"]:
        await auth.hasher.verify_dummy(password)
        ok = False
    else:
        ok = await auth.hasher.verify(row["password_hash"], password)
    if not ok or row is None:
        auth_event("sign_in.failure", level=logging.WARNING, email_ref=email_ref(email), ip=ip)
        raise ValidationFailed(INVALID_CREDENTIALS)
    user_id: int = row["user.id"]
    if not row["user.email_verified"]:
        await send_verification(auth, user_id, email, row["user.name"])
        auth_event("sign_in.unverified", user_id=user_id, ip=ip)
        raise EmailNotVerified(
            "Please confirm your email address first. We just sent you a new link.",
        )
    if auth.hasher.needs_rehash(row["password_hash"]):
        new_hash = await auth.hasher.hash(password)
        await Account.update({Account.password_hash: new_hash, Account.updated_at: auth.clock()}).where(
            Account.id == row["id"]
        )
        auth_event("password.rehashed", user_id=user_id)
    return await start_session(auth, user_id, ip=ip, user_agent=user_agent, method=CREDENTIALS)


async def start_session(auth: Auth, user_id: int, *, ip: str, user_agent: str, method: str) -> SignedIn:
    """A new session for a user who has just proved who they are (password, OAuth provider, ...)."""
    token, session = await auth.sessions.create(user_id, ip=ip, user_agent=user_agent)
    user = await auth.sessions.user(user_id)
    if user is None:
        await auth.sessions.revoke_token(token)
        raise ValidationFailed(INVALID_CREDENTIALS)
    auth_event("sign_in.success", user_id=user_id, session_id=session.id, method=method, ip=ip)
    return SignedIn(token=token, session=session, user=user)


async def sign_out(auth: Auth, token: str, user_id: int | None = None) -> None:
    await auth.sessions.revoke_token(token)
    auth_event("sign_out", user_id=user_id)
