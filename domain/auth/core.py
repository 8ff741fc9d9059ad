"""What every auth flow needs: hasher, sessions, mail outbox, rate limiter, clock, limits, helpers."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from redis.exceptions import RedisError

from actors.ratelimit import RateLimitActor
from domain.auth.clock import Clock, utc_now
from domain.auth.passwords import PasswordHasher
from domain.auth.sessions import SessionStore
from domain.auth.tables import User, Verification
from domain.auth.tokens import hash_token, new_token
from domain.errors import RateLimited, Unavailable
from domain.mail import Mail
from domain.outbox import Outbox

log = logging.getLogger(__name__)

CREDENTIALS = "credentials"
VERIFY_EMAIL = "verify_email"
CHANGE_EMAIL = "change_email"
RESET_PASSWORD = "reset_password"
MAGIC_LINK = "magic_link"
TOKEN_LIFETIME = {
    VERIFY_EMAIL: timedelta(hours=24),
    CHANGE_EMAIL: timedelta(hours=24),
    RESET_PASSWORD: timedelta(hours=1),
    MAGIC_LINK: timedelta(minutes=15),
}
UNIQUE_VIOLATIONS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)


@dataclass(frozen=True, slots=True)
class Limit:
    limit: int
    window_seconds: float


@dataclass(frozen=True, slots=True)
class AuthLimits:
    """Attempts allowed per window; keys are per client IP, per email, per known device or per user."""

    sign_in: Limit = Limit(5, 60)
    known_device: Limit = Limit(5, 60)
    reset: Limit = Limit(5, 60)
    sign_up: Limit = Limit(10, 600)
    password_check: Limit = Limit(5, 60)
    # Two-factor codes per account, and emailed sign-in links per address and per IP.
    second_factor: Limit = Limit(5, 60)
    magic_link: Limit = Limit(5, 600)


@dataclass
class Auth:
    """The auth use cases' dependencies, built once per process (app.py's lifespan)."""

    hasher: PasswordHasher
    sessions: SessionStore
    outbox: Outbox
    ratelimit: RateLimitActor
    base_url: str
    # Signs device cookies (domain/auth/device_cookie.py); derived from AUTH_SECRET.
    device_key: bytes
    # Encrypts TOTP secrets and peppers backup codes (domain/auth/sealing.py); derived from AUTH_SECRET.
    methods_key: bytes
    clock: Clock = utc_now
    limits: AuthLimits = field(default_factory=AuthLimits)
    _background: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def in_background(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` after the answer is sent, so its duration (does this email exist?) is not observable."""
        task = asyncio.get_running_loop().create_task(self._logged(work, what))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _logged(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:
            log.exception("background auth work failed: %s", what)

    async def drain(self) -> None:
        """Wait for background work (shutdown, and tests that read the mail it sends)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def limit(self, key: str, rule: Limit) -> None:
        """Spend one attempt of `key`: RateLimited when none are left; Unavailable without Redis."""
        try:
            decision = await self.ratelimit.hit(key, limit=rule.limit, window_seconds=rule.window_seconds)
        except (RedisError, OSError) as exc:
            raise Unavailable("Sign-in is temporarily unavailable. Please try again shortly.") from exc
        if not decision.allowed:
            wait = max(1, math.ceil(decision.retry_after))
            raise RateLimited(
                f"Too many attempts. Please wait {wait} seconds and try again.",
                retry_after=decision.retry_after,
            )

    def link(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}?token={token}"

    async def send(self, mail: Mail) -> None:
        """Queue `mail` in the outbox: delivered by an alarm, so an SMTP outage only delays it."""
        await self.outbox.send(mail)

    async def issue_token(
        self,
        user_id: int,
        purpose: str,
        *,
        new_email: str = "",
        password_hash: str | None = None,
        name: str = "",
        binding_hash: str = "",
    ) -> str:
        """A fresh single-use token for `purpose`; older unused ones for the same purpose stop working.

        A sign-up's link carries the password hash and name chosen with it, and the hash of the
        signing-up browser's binding secret (domain/auth/ownership.py says when they apply).
        """
        token, token_hash = new_token()
        now = self.clock()
        async with write_transaction():
            await Verification.delete().where(
                (Verification.user == user_id) & (Verification.purpose == purpose)
            )
            await Verification.insert(
                Verification(
                    user=user_id,
                    purpose=purpose,
                    token_hash=token_hash,
                    new_email=new_email,
                    password_hash=password_hash,
                    name=name,
                    binding_hash=binding_hash,
                    expires_at=now + TOKEN_LIFETIME[purpose],
                    created_at=now,
                )
            )
        return token

    async def peek_token(self, token: str, purposes: tuple[str, ...]) -> dict[str, Any] | None:
        """The live verification row for `token` without using it up (to show a form first)."""
        if not token or len(token) > 200:
            return None
        row = (
            await Verification.select(
                Verification.id,
                Verification.user,
                Verification.purpose,
                Verification.new_email,
                Verification.password_hash,
                Verification.name,
                Verification.binding_hash,
                Verification.expires_at,
            )
            .where(
                (Verification.token_hash == hash_token(token)) & Verification.purpose.is_in(list(purposes))
            )
            .first()
        )
        if row is None or row["expires_at"] <= self.clock():
            return None
        return row

    async def consume_token(self, token: str, purposes: tuple[str, ...]) -> dict[str, Any] | None:
        """Use up `token` atomically (DELETE ... RETURNING): a second use or an expired token gets None."""
        if not token or len(token) > 200:
            return None
        rows = (
            await Verification.delete()
            .where(
                (Verification.token_hash == hash_token(token)) & Verification.purpose.is_in(list(purposes))
            )
            .returning(
                Verification.user,
                Verification.purpose,
                Verification.new_email,
                Verification.password_hash,
                Verification.name,
                Verification.binding_hash,
                Verification.expires_at,
            )
        )
        if not rows or rows[0]["expires_at"] <= self.clock():
            return None
        row: dict[str, Any] = rows[0]
        return row


def write_transaction() -> Any:
    """A transaction taking SQLite's write lock up front, so concurrent writers queue, not fail."""
    engine = User._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
