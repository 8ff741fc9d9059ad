"""Device cookies (OWASP): a browser that signed in to an account before keeps its own sign-in allowance."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from domain.auth.core import Auth
from domain.auth.tables import User

LIFETIME = timedelta(days=365)
# Longer values are not ours: refused before any parsing or database work.
MAX_LENGTH = 200
NONCE_BYTES = 16
_MAX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class DeviceClaim:
    """What a correctly signed, unexpired device cookie says: whose it is, at which generation."""

    user_id: int
    generation: int
    expires: int
    nonce: str


def signing_key(auth_secret: str) -> bytes:
    """The HMAC key for device cookies, derived from AUTH_SECRET so no other signature can pass for one."""
    return hashlib.sha256(f"device-cookie:{auth_secret}".encode()).digest()


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, *, user_id: int, generation: int, expires: int, nonce: str) -> str:
    """`user.generation.expires.nonce.mac`: names the account, never the address."""
    payload = f"{user_id}.{generation}.{expires}.{nonce}"
    return f"{payload}.{_mac(key, payload)}"


def read(key: bytes, value: str, now: float) -> DeviceClaim | None:
    """The claim in `value` when its signature holds and it has not expired; None for anything else."""
    if not value or len(value) > MAX_LENGTH or not value.isascii():
        return None
    parts = value.split(".")
    if len(parts) != 5:
        return None
    user_id, generation, expires, nonce, mac = parts
    if not all(p.isdigit() and len(p) <= _MAX_DIGITS for p in (user_id, generation, expires)):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, ".".join(parts[:4])).encode()):
        return None
    if int(expires) <= now:
        return None
    return DeviceClaim(user_id=int(user_id), generation=int(generation), expires=int(expires), nonce=nonce)


async def issue_device_cookie(auth: Auth, user_id: int) -> str:
    """A fresh device cookie for a browser that has just signed in as `user_id` (password or OAuth)."""
    row = await User.select(User.device_generation).where(User.id == user_id).first()
    expires = int((auth.clock() + LIFETIME).timestamp())
    return sign(
        auth.device_key,
        user_id=user_id,
        generation=row["device_generation"] if row else 0,
        expires=expires,
        nonce=secrets.token_urlsafe(NONCE_BYTES),
    )


async def known_device(auth: Auth, value: str, email: str) -> str | None:
    """The device's id when `value` is a current device cookie of the account `email` names, else None.

    Only a correctly signed cookie costs a database query; a cookie of another account, or one issued
    before the account's sessions were all ended (password change or reset, sign out everywhere),
    does not count.
    """
    claim = read(auth.device_key, value, auth.clock().timestamp())
    if claim is None:
        return None
    row = await User.select(User.email, User.device_generation).where(User.id == claim.user_id).first()
    if row is None or row["email"] != email or row["device_generation"] != claim.generation:
        return None
    return claim.nonce


async def limit_sign_in(auth: Auth, *, email: str, device_cookie: str) -> None:
    """Spend one sign-in attempt for `email`: from a known device's own allowance, else the account's.

    Untrusted attempts share the per-account limit, so guessing from anywhere stays slow, but they
    cannot use up the allowance of a browser the owner signed in from before. A known device that
    runs out is refused alone.
    """
    device = await known_device(auth, device_cookie, email) if device_cookie else None
    if device is None:
        await auth.limit(f"signin:email:{email}", auth.limits.sign_in)
    else:
        await auth.limit(f"signin:device:{device}", auth.limits.known_device)
