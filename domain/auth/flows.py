"""Signed-out flows: sign up, verify email, sign in and out, forgot and reset password."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from domain.auth.challenges import Pending, remember
from domain.auth.core import (
    CHANGE_EMAIL,
    CREDENTIALS,
    RESET_PASSWORD,
    UNIQUE_VIOLATIONS,
    VERIFY_EMAIL,
    Auth,
)
from domain.auth.device_cookie import limit_sign_in
from domain.auth.events import auth_event
from domain.auth.ownership import Proof, claim_mailbox, revoke_older_tokens
from domain.auth.passwords import MAX_LENGTH
from domain.auth.sessions import load_user
from domain.auth.tables import Account, Passkey, User
from domain.auth.tokens import hash_token
from domain.auth.totp import two_factor_enabled
from domain.auth.types import AuthSession, AuthUser
from domain.auth.validation import (
    clean_email,
    clean_name,
    clean_new_password,
    normalize_email,
    raise_if,
)
from domain.auth.verification import pending_sign_up, resend_link, reserve_address, send_verification
from domain.errors import Conflict, Forbidden, ValidationFailed
from domain.mail import Mail

INVALID_CREDENTIALS = "Incorrect email or password."
INVALID_LINK = "This link is invalid or has expired. Request a new one."
NOT_CONFIRMED = "Please confirm your email address first. We just sent you a new link."
WRONG_SIGN_UP_PASSWORD = "That is not the password chosen when this address was signed up."


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


async def sign_up(auth: Auth, *, name: str, email: str, password: str, ip: str, binding: str = "") -> str:
    """Mail a confirmation link for a new (or still unconfirmed) address; returns the normalized email.

    The password and name travel with the link and apply only when it is followed, in the browser
    whose `binding` secret signed up or with the password typed again (domain/auth/ownership.py).
    The answer, its timing and what the requester can observe are the same whether or not the
    address has an account: the database work and the mail happen after the answer.
    """
    errors: dict[str, str] = {}
    name = clean_name(name, errors)
    email = clean_email(email, errors)
    clean_new_password(password, errors, email=email, name=name)
    raise_if(errors)
    await auth.limit(f"signup:ip:{ip}", auth.limits.sign_up)
    password_hash = await auth.hasher.hash(password)
    binding_hash = hash_token(binding) if binding else ""
    auth.in_background(_register(auth, name, email, password_hash, binding_hash, ip), "sign-up")
    return email


async def _register(
    auth: Auth, name: str, email: str, password_hash: str, binding_hash: str, ip: str
) -> None:
    # The address is reserved unconfirmed and without any way to sign in until a link is followed.
    reserved = await reserve_address(auth, email, name)
    if reserved is None:
        return
    if reserved.created:
        auth_event("sign_up", user_id=reserved.user_id, ip=ip)
        await send_verification(
            auth, reserved.user_id, email, name, password_hash=password_hash, binding_hash=binding_hash
        )
        return
    auth_event("sign_up.existing_email", user_id=reserved.user_id, ip=ip, verified=reserved.email_verified)
    if not reserved.email_verified:
        # A newer sign-up replaces the pending one: only the latest link can apply credentials.
        await send_verification(
            auth, reserved.user_id, email, name, password_hash=password_hash, binding_hash=binding_hash
        )
        return
    await auth.send(
        Mail(
            to=email,
            subject="You already have an account",
            text="Someone (hopefully you) tried to sign up with this address, which already has an "
            f"account.\n\nSign in: {auth.base_url}/auth/sign-in\nForgot your password? "
            f"{auth.base_url}/auth/forgot-password\n",
        )
    )


@dataclass(frozen=True, slots=True)
class Followed:
    """What following an emailed confirmation link did (one field set at most)."""

    email: str
    # A sign-up link in the browser that signed up: its credentials now apply and this is the session.
    signed_in: SignedIn | None = None
    # A sign-up link anywhere else: the link stays usable with the password chosen at sign-up.
    needs_password: bool = False
    # The address is proven but the link carried no password: a reset token to choose one.
    reset_token: str = ""


async def follow_link(
    auth: Auth,
    token: str,
    *,
    binding: str,
    ip: str,
    user_agent: str,
    current: AuthSession | None = None,
) -> Followed:
    """Follow a confirmation link (sign-up or email change) in a browser with session `current`, if any."""
    row = await auth.peek_token(token, (VERIFY_EMAIL, CHANGE_EMAIL))
    if row is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    if row["purpose"] == CHANGE_EMAIL:
        keep = current.id if current is not None and current.user_id == row["user"] else None
        return Followed(email=await _change_email(auth, token, keep_session_id=keep))
    user = await load_user(row["user"])
    if user is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    if user.email_verified:
        await auth.consume_token(token, (VERIFY_EMAIL,))
        return Followed(email=user.email)
    bound = bool(binding) and hmac.compare_digest(row["binding_hash"], hash_token(binding))
    if row["password_hash"] and not bound:
        # Following the link proves the mailbox, not who chose the password it carries.
        return Followed(email=user.email, needs_password=True)
    # Passkeys made while signing up stay only in the browser that made them (passkey_signup.py).
    passkey_binding = row["binding_hash"] if bound else ""
    return await _confirm(auth, token, user, ip=ip, user_agent=user_agent, passkey_binding=passkey_binding)


async def confirm_sign_up(auth: Auth, *, token: str, password: str, ip: str, user_agent: str) -> SignedIn:
    """Finish a sign-up from its link in another browser: knowing the password shows who chose it."""
    await auth.limit(f"confirm:ip:{ip}", auth.limits.sign_in)
    row = await auth.peek_token(token, (VERIFY_EMAIL,))
    if row is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    user = await load_user(row["user"])
    stored = row["password_hash"]
    if not stored or len(password) > MAX_LENGTH * 8:
        await auth.hasher.verify_dummy(password[: MAX_LENGTH * 8])
        ok = False
    else:
        ok = await auth.hasher.verify(stored, password)
    if not ok or user is None or user.email_verified:
        auth_event("sign_up.confirm_failure", level=logging.WARNING, user_id=row["user"], ip=ip)
        raise ValidationFailed(WRONG_SIGN_UP_PASSWORD, field_errors={"password": WRONG_SIGN_UP_PASSWORD})
    followed = await _confirm(auth, token, user, ip=ip, user_agent=user_agent)
    if followed.signed_in is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    return followed.signed_in


async def _confirm(
    auth: Auth, token: str, user: AuthUser, *, ip: str, user_agent: str, passkey_binding: str = ""
) -> Followed:
    """Use the sign-up link up and let it claim the address with the credentials it carries."""
    row = await auth.consume_token(token, (VERIFY_EMAIL,))
    if row is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    kept_passkey = bool(passkey_binding) and await Passkey.exists().where(
        (Passkey.user == user.id) & (Passkey.binding_hash == passkey_binding)
    )
    name = row["name"] or (user.name if kept_passkey else "")
    proof = Proof(password_hash=row["password_hash"], name=name, passkey_binding=passkey_binding)
    await claim_mailbox(auth, user.id, proof)
    auth_event("email.verified", user_id=user.id)
    if kept_passkey:
        signed = await start_session(auth, user.id, ip=ip, user_agent=user_agent, method="passkey_sign_up")
        return Followed(email=user.email, signed_in=signed)
    if row["password_hash"]:
        signed = await start_session(auth, user.id, ip=ip, user_agent=user_agent, method="email_link")
        return Followed(email=user.email, signed_in=signed)
    reset = await auth.issue_token(user.id, RESET_PASSWORD)
    return Followed(email=user.email, reset_token=reset)


async def _change_email(auth: Auth, token: str, *, keep_session_id: int | None) -> str:
    row = await auth.consume_token(token, (CHANGE_EMAIL,))
    if row is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    user_id: int = row["user"]
    new_email: str = row["new_email"]
    try:
        await User.update(
            {User.email: new_email, User.email_verified: True, User.updated_at: auth.clock()}
        ).where(User.id == user_id)
    except UNIQUE_VIOLATIONS:
        raise Conflict("That email address now belongs to another account.") from None
    auth_event("email.changed", user_id=user_id)
    # Links mailed to the old address (a reset, say) and other sessions must not outlive the move.
    await revoke_older_tokens(auth, user_id, keep_session_id=keep_session_id)
    return new_email


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
        await resend_link(auth, row["id"], email, row["name"])


async def sign_in(
    auth: Auth,
    *,
    email: str,
    password: str,
    ip: str,
    user_agent: str,
    device_cookie: str = "",
    binding: str = "",
) -> SignedIn | None:
    """Check the password (limited first per IP, then per known device or else per email); start a session.

    With two-factor on there is no session yet: None, and the sign-in is held for the browser with
    binding secret `binding` until a code completes it (domain/auth/second_factor.py).
    """
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
    # An unconfirmed sign-up's password lives with its link; it is checked only to say "confirm first".
    pending = await pending_sign_up(email)
    stored = row["password_hash"] if row and row["password_hash"] else pending and pending.password_hash
    if len(password) > MAX_LENGTH * 8:
        ok = False
    elif not stored:
        await auth.hasher.verify_dummy(password)
        ok = False
    else:
        ok = await auth.hasher.verify(stored, password)
    if not ok or not (row or pending):
        auth_event("sign_in.failure", level=logging.WARNING, email_ref=email_ref(email), ip=ip)
        raise ValidationFailed(INVALID_CREDENTIALS)
    if row is None:
        assert pending is not None
        await resend_link(auth, pending.user_id, email, pending.name)
        auth_event("sign_in.unverified", user_id=pending.user_id, ip=ip)
        raise EmailNotVerified(NOT_CONFIRMED)
    if not row["user.email_verified"]:
        await resend_link(auth, row["user.id"], email, row["user.name"])
        auth_event("sign_in.unverified", user_id=row["user.id"], ip=ip)
        raise EmailNotVerified(NOT_CONFIRMED)
    user_id = row["user.id"]
    if auth.hasher.needs_rehash(row["password_hash"]):
        new_hash = await auth.hasher.hash(password)
        await Account.update({Account.password_hash: new_hash, Account.updated_at: auth.clock()}).where(
            Account.id == row["id"]
        )
        auth_event("password.rehashed", user_id=user_id)
    if await two_factor_enabled(user_id):
        await hold_sign_in(auth, user_id, binding=binding, method=CREDENTIALS)
        return None
    return await start_session(auth, user_id, ip=ip, user_agent=user_agent, method=CREDENTIALS)


async def hold_sign_in(auth: Auth, user_id: int, *, binding: str, method: str) -> None:
    """Remember that this browser proved `method` for `user_id` and now owes a second factor."""
    await remember(auth, binding, Pending("second_factor", user_id=user_id, method=method))
    auth_event("sign_in.second_factor_required", user_id=user_id, method=method)


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
