"""Sign-up confirmation links: what each carries, the pending sign-up of an address, mailing a new link."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.core import UNIQUE_VIOLATIONS, VERIFY_EMAIL, Auth
from domain.auth.tables import User, Verification
from domain.mail import Mail


async def send_verification(
    auth: Auth,
    user_id: int,
    email: str,
    name: str,
    *,
    password_hash: str | None = None,
    binding_hash: str = "",
) -> None:
    """Mail a confirmation link carrying a sign-up's password and name (any older link stops working)."""
    # The name applies with the link only as part of a sign-up (with its password), never on its own.
    carried_name = name if password_hash is not None else ""
    token = await auth.issue_token(
        user_id, VERIFY_EMAIL, password_hash=password_hash, name=carried_name, binding_hash=binding_hash
    )
    link = auth.link("/auth/verify", token)
    await auth.send(
        Mail(
            to=email,
            subject="Confirm your email address",
            text=f"Hi {name},\n\nConfirm your email address to finish signing up:\n\n{link}\n\n"
            "The link works once and expires in 24 hours. If you did not sign up, ignore this message.\n",
            link=link,
        )
    )


@dataclass(frozen=True, slots=True)
class PendingSignUp:
    """The newest unconfirmed sign-up of an address: what its next link carries."""

    user_id: int
    name: str
    password_hash: str | None
    binding_hash: str


async def pending_sign_up(email: str) -> PendingSignUp | None:
    """The latest sign-up waiting for `email` to be confirmed (None once the address is proven)."""
    row = (
        await Verification.select(
            Verification.user,
            Verification.name,
            Verification.password_hash,
            Verification.binding_hash,
            Verification.user.name,
        )
        .where(
            (Verification.purpose == VERIFY_EMAIL)
            & (Verification.user.email == email)
            & (Verification.user.email_verified == False)  # noqa: E712
        )
        .order_by(Verification.id, ascending=False)
        .first()
    )
    if row is None:
        return None
    name = row["name"] or row["user.name"]
    return PendingSignUp(row["user"], name, row["password_hash"], row["binding_hash"])


async def resend_link(auth: Auth, user_id: int, email: str, name: str) -> None:
    """A new link for the pending sign-up of an unconfirmed address, carrying the same credentials."""
    pending = await pending_sign_up(email)
    if pending is not None and pending.user_id == user_id:
        await send_verification(
            auth,
            user_id,
            email,
            pending.name,
            password_hash=pending.password_hash,
            binding_hash=pending.binding_hash,
        )
    else:
        await send_verification(auth, user_id, email, name)


@dataclass(frozen=True, slots=True)
class Reserved:
    """The account row of an address: its id, whether it is confirmed, and whether this call made it."""

    user_id: int
    email_verified: bool
    created: bool


async def reserve_address(auth: Auth, email: str, name: str) -> Reserved | None:
    """The address's account row, inserted unconfirmed and with no way to sign in if there is none.

    Two sign-ups racing for one address both get the one row (None only if it vanished meanwhile).
    """
    existing = await User.select(User.id, User.email_verified).where(User.email == email).first()
    if existing is None:
        now = auth.clock()
        try:
            rows = await User.insert(User(email=email, name=name, created_at=now, updated_at=now)).returning(
                User.id
            )
        except UNIQUE_VIOLATIONS:
            existing = await User.select(User.id, User.email_verified).where(User.email == email).first()
        else:
            return Reserved(user_id=rows[0]["id"], email_verified=False, created=True)
    if existing is None:
        return None
    return Reserved(user_id=existing["id"], email_verified=existing["email_verified"], created=False)
