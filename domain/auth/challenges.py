"""Unfinished sign-in ceremonies in Redis (a WebAuthn challenge, a sign-in waiting for its second factor).

One per browser binding, used up once (GETDEL), gone after five minutes.
"""

from __future__ import annotations

import msgspec
from redis.exceptions import RedisError

from domain.auth.core import Auth
from domain.auth.tokens import hash_token
from domain.errors import Unavailable, ValidationFailed

CHALLENGE_TTL_S = 300
MAX_BINDING = 200
NO_BINDING = "This browser cannot finish signing in: reload the page and try again."


class Pending(msgspec.Struct, frozen=True):
    """What a ceremony started with; `purpose` is register, sign_up, sign_in or second_factor."""

    purpose: str
    challenge: str = ""
    user_id: int = 0
    user_handle: str = ""
    email: str = ""
    name: str = ""
    # How the first factor of a sign-in waiting for its second was proven (password, magic_link).
    method: str = ""


def _key(binding: str) -> str:
    if not binding or len(binding) > MAX_BINDING:
        raise ValidationFailed(NO_BINDING)
    # The key names the browser's binding secret only by its hash.
    return f"auth:ceremony:{hash_token(binding)}"


async def remember(auth: Auth, binding: str, pending: Pending) -> None:
    """Keep `pending` for this browser; a newer ceremony replaces an unfinished one."""
    key = _key(binding)
    try:
        await auth.sessions.redis.set(key, msgspec.json.encode(pending), ex=CHALLENGE_TTL_S)
    except (RedisError, OSError) as exc:
        raise Unavailable("Sign-in is temporarily unavailable. Please try again shortly.") from exc


async def peek(auth: Auth, binding: str, purpose: str) -> Pending | None:
    """The browser's pending ceremony of `purpose`, left in place (a wrong code may be retried)."""
    key = _key(binding)
    try:
        raw = await auth.sessions.redis.get(key)
    except (RedisError, OSError) as exc:
        raise Unavailable("Sign-in is temporarily unavailable. Please try again shortly.") from exc
    return _decode(raw, purpose)


async def take(auth: Auth, binding: str, purpose: str) -> Pending | None:
    """The browser's pending ceremony, used up by this call; None if absent, expired or of another purpose."""
    key = _key(binding)
    try:
        raw = await auth.sessions.redis.getdel(key)
    except (RedisError, OSError) as exc:
        raise Unavailable("Sign-in is temporarily unavailable. Please try again shortly.") from exc
    return _decode(raw, purpose)


def _decode(raw: object, purpose: str) -> Pending | None:
    if not isinstance(raw, bytes):
        return None
    pending = msgspec.json.decode(raw, type=Pending)
    return pending if pending.purpose == purpose else None
