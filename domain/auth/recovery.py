"""Forgotten passwords: mail a reset link, check it, set the new password."""

from __future__ import annotations

from domain.auth.core import RESET_PASSWORD, Auth
from domain.auth.events import auth_event
from domain.auth.flows import INVALID_LINK, email_ref
from domain.auth.ownership import Proof, claim_mailbox, revoke_older_tokens
from domain.auth.sessions import load_user
from domain.auth.tables import User
from domain.auth.types import AuthUser
from domain.auth.validation import clean_email, clean_new_password, raise_if
from domain.errors import ValidationFailed
from domain.mail import Mail


async def request_password_reset(auth: Auth, *, email: str, ip: str) -> None:
    """Mail a reset link if `email` has an account; the same answer, in the same time, either way."""
    errors: dict[str, str] = {}
    email = clean_email(email, errors)
    raise_if(errors)
    await auth.limit(f"reset:ip:{ip}", auth.limits.reset)
    await auth.limit(f"reset:email:{email}", auth.limits.reset)
    auth.in_background(_send_reset(auth, email, ip), "password reset mail")


async def _send_reset(auth: Auth, email: str, ip: str) -> None:
    row = await User.select(User.id, User.name).where(User.email == email).first()
    auth_event("password_reset.requested", email_ref=email_ref(email), ip=ip, known=row is not None)
    if row is None:
        return
    token = await auth.issue_token(row["id"], RESET_PASSWORD)
    link = auth.link("/auth/reset-password", token)
    await auth.send(
        Mail(
            to=email,
            subject="Reset your password",
            text=f"Hi {row['name']},\n\nChoose a new password here:\n\n{link}\n\n"
            "The link works once and expires in 1 hour. If you did not ask for this, ignore this message; "
            "your password has not changed.\n",
            link=link,
        )
    )


async def reset_token_valid(auth: Auth, token: str) -> bool:
    return await auth.peek_token(token, (RESET_PASSWORD,)) is not None


async def reset_password(auth: Auth, *, token: str, password: str) -> AuthUser:
    """Set a new password from an emailed link, then end every session of the account."""
    row = await auth.peek_token(token, (RESET_PASSWORD,))
    user = await load_user(row["user"]) if row else None
    if user is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    errors: dict[str, str] = {}
    clean_new_password(password, errors, email=user.email, name=user.name)
    raise_if(errors)
    # Only now use the token up, so a rejected password leaves the link working.
    if await auth.consume_token(token, (RESET_PASSWORD,)) is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    # The link proves the mailbox: on an unconfirmed account this claims it like a sign-up link.
    await claim_mailbox(auth, user.id, Proof(password_hash=await auth.hasher.hash(password)))
    await revoke_older_tokens(auth, user.id)
    auth_event("password_reset.completed", user_id=user.id)
    return user
