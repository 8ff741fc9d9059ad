"""Sign-in links by email: single-use, 15 minutes, for the browser that asked unless confirmed elsewhere.

They are verification tokens like every other emailed link (Auth.issue_token, purpose MAGIC_LINK),
carrying the hash of the requesting browser's binding secret. Opened in that browser, the link
signs in; opened anywhere else it first asks that device to confirm, so a link that leaks (or is
prefetched by a mail scanner) does not sign anyone in by being opened. The answer to a request is
the same for registered and free addresses, and only registered ones get mail.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from domain.auth.challenges import NO_BINDING
from domain.auth.core import MAGIC_LINK, Auth
from domain.auth.events import auth_event
from domain.auth.flows import INVALID_LINK, SignedIn, email_ref, hold_sign_in, start_session
from domain.auth.ownership import Proof, claim_mailbox
from domain.auth.sessions import load_user
from domain.auth.tables import User
from domain.auth.tokens import hash_token
from domain.auth.totp import two_factor_enabled
from domain.auth.validation import clean_email, raise_if
from domain.errors import ValidationFailed
from domain.mail import Mail

LINK_PATH = "/auth/magic-link"


async def request_magic_link(auth: Auth, *, email: str, ip: str, binding: str) -> str:
    """Mail a sign-in link if `email` has an account; the same answer, in the same time, either way."""
    errors: dict[str, str] = {}
    email = clean_email(email, errors)
    raise_if(errors)
    await auth.limit(f"magic:ip:{ip}", auth.limits.magic_link)
    await auth.limit(f"magic:email:{email}", auth.limits.magic_link)
    binding_hash = hash_token(binding) if binding else ""
    auth.in_background(_send(auth, email, binding_hash, ip), "sign-in link mail")
    return email


async def _send(auth: Auth, email: str, binding_hash: str, ip: str) -> None:
    row = await User.select(User.id, User.name).where(User.email == email).first()
    auth_event("magic_link.requested", email_ref=email_ref(email), ip=ip, known=row is not None)
    if row is None:
        return
    token = await auth.issue_token(row["id"], MAGIC_LINK, binding_hash=binding_hash)
    link = auth.link(LINK_PATH, token)
    await auth.send(
        Mail(
            to=email,
            subject="Your sign-in link",
            text=f"Hi {row['name']},\n\nSign in with this link:\n\n{link}\n\n"
            "It works once, for 15 minutes. If you did not ask for it, ignore this message.\n",
            link=link,
        )
    )


@dataclass(frozen=True, slots=True)
class MagicSignIn:
    """What following a sign-in link did (one outcome)."""

    email: str
    # Signed in: the session to set.
    signed_in: SignedIn | None = None
    # Opened in a browser other than the one that asked: confirm on this device first (the link still works).
    needs_confirmation: bool = False
    # The link was the first factor of an account with two-factor on: held for this browser until
    # a code follows (domain/auth/second_factor.py).
    second_factor: bool = False


async def follow_magic_link(
    auth: Auth,
    token: str,
    *,
    binding: str,
    ip: str,
    user_agent: str,
    confirmed: bool = False,
    hold: str | None = None,
) -> MagicSignIn:
    """Use a sign-in link in a browser with binding secret `binding` (or on a device that confirmed).

    With two-factor on, the sign-in is held under `hold` (default: `binding`): the web layer passes
    a fresh secret, so a binding the browser already carried never names a held sign-in, and a
    device that confirmed can owe its code too.
    """
    hold = binding if hold is None else hold
    row = await auth.peek_token(token, (MAGIC_LINK,))
    user = await load_user(row["user"]) if row else None
    if row is None or user is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    bound = bool(binding) and hmac.compare_digest(row["binding_hash"], hash_token(binding))
    if not bound and not confirmed:
        return MagicSignIn(email=user.email, needs_confirmation=True)
    if not hold and await two_factor_enabled(user.id):
        # The code step is held for this browser: without its binding there is nowhere to hold it.
        raise ValidationFailed(NO_BINDING)
    if await auth.consume_token(token, (MAGIC_LINK,)) is None:
        raise ValidationFailed(INVALID_LINK, field_errors={"token": INVALID_LINK})
    auth_event("magic_link.used", user_id=user.id, ip=ip, other_device=not bound)
    if not user.email_verified:
        # The link proves the mailbox: an unproven account is claimed as by a sign-up link.
        await claim_mailbox(auth, user.id, Proof())
    if await two_factor_enabled(user.id):
        await hold_sign_in(auth, user.id, binding=hold, method="magic_link")
        return MagicSignIn(email=user.email, second_factor=True)
    signed = await start_session(auth, user.id, ip=ip, user_agent=user_agent, method="magic_link")
    return MagicSignIn(email=user.email, signed_in=signed)
