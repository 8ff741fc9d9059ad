"""A sign-in waiting for its second factor: held in Redis for the browser, never as a session.

After the first factor (a password, a sign-in link) of an account with two-factor on, the sign-in
is held under the browser's binding secret for five minutes (domain/auth/challenges.py); only a
right code or backup code from that browser turns it into a session. Nothing the browser holds
in the meantime is a session, so no signed-in page or command answers it.
"""

from __future__ import annotations

from domain.auth.challenges import peek, take
from domain.auth.core import Auth
from domain.auth.flows import SignedIn, start_session
from domain.auth.totp import verify_second_factor
from domain.errors import ValidationFailed

EXPIRED = "Your sign-in has expired. Please sign in again."


async def complete_sign_in(auth: Auth, *, binding: str, code: str, ip: str, user_agent: str) -> SignedIn:
    """The session for a held sign-in once `code` (TOTP or backup code) is right; limited per account."""
    pending = await peek(auth, binding, "second_factor")
    if pending is None:
        raise ValidationFailed(EXPIRED)
    await verify_second_factor(auth, pending.user_id, code)
    # Used up only now, and only once: a wrong code leaves it for another try within the limits.
    if await take(auth, binding, "second_factor") is None:
        raise ValidationFailed(EXPIRED)
    return await start_session(
        auth, pending.user_id, ip=ip, user_agent=user_agent, method=f"{pending.method}+second_factor"
    )
