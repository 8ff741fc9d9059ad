"""argon2id password hashing off the event loop, behind a concurrency cap, plus the password rules."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import Unavailable

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 128


@dataclass(frozen=True, slots=True)
class HashParams:
    """argon2id cost. The default is RFC 9106's low-memory profile, above OWASP's minimum (19 MiB, t=2)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


# OWASP's minimum recommendation; tests use it to stay fast while still exercising real argon2id.
OWASP_MINIMUM = HashParams(time_cost=2, memory_cost_kib=19456, parallelism=1)


@cache
def common_passwords() -> frozenset[str]:
    text = files("domain.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if lowered in common_passwords() or len(set(password)) < 3:
        return "This password is too common. Choose something harder to guess."
    if lowered in {email.lower(), local_part, name.strip().lower()}:
        return "Don't use your email address or name as your password."
    return None


class PasswordHasher:
    """Hash and verify in worker threads; at most `max_concurrent` at once and `max_waiting` queued.

    argon2id at 64 MiB is expensive on purpose, so unbounded concurrency would let a burst of
    sign-in attempts exhaust memory; beyond the queue limit callers get Unavailable (503) at once,
    and a queued caller that gets no slot within `max_wait_seconds` gets it then (so a burst is
    answered quickly, not after every queued hash). More hashes at once than cores only slows each,
    so the default cap is one less than the core count (at least 1, at most 4): a core stays free for
    the event loop, which must keep answering (and refusing) everyone else.
    """

    def __init__(
        self,
        params: HashParams = HashParams(),
        *,
        max_concurrent: int | None = None,
        max_waiting: int = 32,
        max_wait_seconds: float | None = None,
    ) -> None:
        self.params = params
        self._argon2 = Argon2Hasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost_kib,
            parallelism=params.parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(max_concurrent or min(4, max(1, (os.cpu_count() or 1) - 1)))
        self._max_waiting = max_waiting
        self._max_wait = max_wait_seconds
        self._waiting = 0
        self._dummy_hash: str | None = None
        self._dummy_lock = asyncio.Lock()

    def check_capacity(self) -> None:
        """Unavailable at once when the queue is full: callers check before reading a password form."""
        if self._waiting >= self._max_waiting:
            raise Unavailable("The server is busy checking passwords. Please try again in a moment.")

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        self.check_capacity()
        self._waiting += 1
        try:
            try:
                async with asyncio.timeout(self._max_wait):
                    await self._slots.acquire()
            except TimeoutError:
                raise Unavailable(
                    "The server is busy checking passwords. Please try again in a moment."
                ) from None
            try:
                return await asyncio.to_thread(fn, *args)
            finally:
                self._slots.release()
        finally:
            self._waiting -= 1

    async def hash(self, password: str) -> str:
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; False on mismatch or an unreadable hash."""
        return await self._run(self._verify_sync, password_hash, password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification takes, so unknown emails answer as slowly as known ones."""
        if self._dummy_hash is None:
            # One hash for the whole burst, not one per caller that arrives before it exists.
            async with self._dummy_lock:
                if self._dummy_hash is None:
                    self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
