"""Database sessions with a Redis read-through cache: no database query on most requests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from redis.exceptions import RedisError

from actors.connection import RedisClient
from domain.auth.clock import Clock, utc_now
from domain.auth.devices import describe_device
from domain.auth.events import auth_event
from domain.auth.local_cache import CachedSession, Invalidation, LocalEntry, LocalSessionCache
from domain.auth.tables import Session, User
from domain.auth.tokens import hash_token, new_token
from domain.auth.types import AuthSession, AuthUser

log = logging.getLogger(__name__)

SESSION_TTL = timedelta(days=7)
# Extend expiry only when the last extension is older than this (one write a day, not per request).
UPDATE_AGE = timedelta(days=1)
LAST_SEEN_EVERY = timedelta(minutes=5)
# A cached entry lives at most this long, which bounds staleness if Redis missed an invalidation.
CACHE_TTL_S = 120
MAX_USER_AGENT = 512


class SessionView(msgspec.Struct, frozen=True):
    """One of a user's sessions as the account page lists it."""

    id: int
    created_at: datetime
    last_seen: datetime
    expires_at: datetime
    ip: str
    user_agent: str
    device: str = ""
    current: bool = False


@dataclass(frozen=True, slots=True)
class Resolved:
    """A valid session and its user; `extended` means the cookie should be re-sent with the new expiry."""

    user: AuthUser
    session: AuthSession
    extended: bool = False


def _session_key(token_hash: str) -> str:
    return f"auth:session:{{{token_hash}}}"


def _user_key(user_id: int) -> str:
    return f"auth:user:{{{user_id}}}"


def user_from_row(row: dict[str, Any]) -> AuthUser:
    return AuthUser(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        avatar=row["avatar"] or None,
        email_verified=bool(row["email_verified"]),
        is_admin=bool(row["is_admin"]),
    )


async def load_user(user_id: int) -> AuthUser | None:
    row = (
        await User.select(User.id, User.email, User.name, User.avatar, User.email_verified, User.is_admin)
        .where(User.id == user_id)
        .first()
    )
    return user_from_row(row) if row else None


class SessionStore:
    """Create, resolve, list and revoke sessions; the cookie holds a token, the table its sha256."""

    def __init__(self, redis: RedisClient, clock: Clock = utc_now) -> None:
        self.redis = redis
        self.clock = clock
        # Answers most lookups in memory once `local.follow(hub)` runs (see web/live.py).
        self.local = LocalSessionCache()

    # --- cache helpers: Redis trouble is logged and the database answers instead ---------

    async def _cache_get(self, key: str) -> bytes | None:
        try:
            value = await self.redis.get(key)
        except (RedisError, OSError) as exc:
            log.warning("session cache unavailable, using the database: %s", exc)
            return None
        return value if isinstance(value, bytes) else None

    async def _cache_set(self, key: str, value: msgspec.Struct, ttl_s: float) -> None:
        ttl = int(min(CACHE_TTL_S, ttl_s))
        if ttl < 1:
            return
        try:
            await self.redis.set(key, msgspec.json.encode(value), ex=ttl)
        except (RedisError, OSError) as exc:
            log.warning("session cache write failed: %s", exc)

    async def _cache_delete(self, *keys: str) -> None:
        for key in keys:
            try:
                await self.redis.delete(key)
            except (RedisError, OSError) as exc:
                # The entry expires within CACHE_TTL_S; the database row is already gone.
                log.warning("session cache invalidation failed for a key: %s", exc)

    # --- lifecycle -----------------------------------------------------------------------

    async def create(self, user_id: int, *, ip: str = "", user_agent: str = "") -> tuple[str, AuthSession]:
        """A new session for `user_id`: returns the cookie token (never stored) and the session."""
        token, token_hash = new_token()
        now = self.clock()
        expires = now + SESSION_TTL
        rows = await Session.insert(
            Session(
                user=user_id,
                token_hash=token_hash,
                expires_at=expires,
                created_at=now,
                last_seen=now,
                ip=ip[:64],
                user_agent=user_agent[:MAX_USER_AGENT],
            )
        ).returning(Session.id)
        session = AuthSession(id=rows[0]["id"], user_id=user_id, expires_at=expires.timestamp())
        return token, session

    async def resolve(self, token: str) -> Resolved | None:
        """The session and user for a cookie token, or None if unknown, expired or revoked."""
        if not token or len(token) > 200:
            return None
        token_hash = hash_token(token)
        now = self.clock()
        local = self.local.get(token_hash)
        user: AuthUser | None
        if local is not None:
            entry, user = local.session, local.user
        else:
            generation = self.local.generation
            found = await self._lookup(token_hash, now)
            if found is None:
                return None
            entry, user = found
            if user is not None:
                self._keep(token_hash, entry, user, generation)
        if user is None or entry.expires_at <= now.timestamp():
            await self._delete_rows([token_hash])
            return None
        extended = False
        ttl = SESSION_TTL.total_seconds()
        stamp = now.timestamp()
        if entry.expires_at - stamp < ttl - UPDATE_AGE.total_seconds():
            entry = CachedSession(entry.id, entry.user_id, stamp + ttl, stamp)
            await Session.update({Session.expires_at: now + SESSION_TTL, Session.last_seen: now}).where(
                Session.id == entry.id
            )
            await self._cache_set(_session_key(token_hash), entry, ttl)
            self._keep(token_hash, entry, user, self.local.generation)
            extended = True
        elif stamp - entry.last_seen > LAST_SEEN_EVERY.total_seconds():
            entry = CachedSession(entry.id, entry.user_id, entry.expires_at, stamp)
            await Session.update({Session.last_seen: now}).where(Session.id == entry.id)
            await self._cache_set(_session_key(token_hash), entry, entry.expires_at - stamp)
            self._keep(token_hash, entry, user, self.local.generation)
        session = AuthSession(id=entry.id, user_id=entry.user_id, expires_at=entry.expires_at)
        return Resolved(user=user, session=session, extended=extended)

    async def _lookup(self, token_hash: str, now: datetime) -> tuple[CachedSession, AuthUser | None] | None:
        """The session entry (Redis, else the database) and its user; None when there is no such session."""
        cached = await self._cache_get(_session_key(token_hash))
        entry = msgspec.json.decode(cached, type=CachedSession) if cached else None
        if entry is None:
            row = (
                await Session.select(Session.id, Session.user, Session.expires_at, Session.last_seen)
                .where(Session.token_hash == token_hash)
                .first()
            )
            if row is None:
                return None
            entry = CachedSession(
                id=row["id"],
                user_id=row["user"],
                expires_at=row["expires_at"].timestamp(),
                last_seen=row["last_seen"].timestamp(),
            )
            await self._cache_set(_session_key(token_hash), entry, entry.expires_at - now.timestamp())
        return entry, await self.user(entry.user_id)

    def _keep(self, token_hash: str, entry: CachedSession, user: AuthUser, generation: int) -> None:
        self.local.put(token_hash, LocalEntry(entry, user), since_generation=generation)

    async def user(self, user_id: int) -> AuthUser | None:
        """The user, from the cache when it holds them."""
        cached = await self._cache_get(_user_key(user_id))
        if cached:
            return msgspec.json.decode(cached, type=AuthUser)
        user = await load_user(user_id)
        if user is not None:
            await self._cache_set(_user_key(user_id), user, CACHE_TTL_S)
        return user

    async def invalidate_user(self, user_id: int) -> None:
        """Forget the cached user after a change (profile, email, admin flag); the next request reloads it."""
        await self._cache_delete(_user_key(user_id))
        await self.local.publish(self.redis, Invalidation(user=user_id))

    async def _delete_rows(self, token_hashes: list[str]) -> None:
        if not token_hashes:
            return
        await self._cache_delete(*(_session_key(h) for h in token_hashes))
        await Session.delete().where(Session.token_hash.is_in(token_hashes))
        await self.local.publish(self.redis, Invalidation(sessions=token_hashes))

    async def revoke_token(self, token: str) -> None:
        """End the session a cookie token names (sign-out)."""
        await self._delete_rows([hash_token(token)])

    async def revoke(self, user_id: int, session_id: int) -> bool:
        """End one of `user_id`'s sessions; False when it is not theirs or already gone."""
        rows = await Session.select(Session.token_hash).where(
            (Session.id == session_id) & (Session.user == user_id)
        )
        await self._delete_rows([r["token_hash"] for r in rows])
        if rows:
            auth_event("session.revoke", user_id=user_id, session_id=session_id)
        return bool(rows)

    async def revoke_all(self, user_id: int, *, keep_session_id: int | None = None) -> int:
        """End every session of `user_id` (but `keep_session_id`); returns how many ended.

        Its device cookies stop counting as known devices too (domain/auth/device_cookie.py): every
        caller (password change or reset, sign out everywhere, a takeover undone) means "trust no
        browser that signed in before".
        """
        query = Session.select(Session.token_hash).where(Session.user == user_id)
        if keep_session_id is not None:
            query = query.where(Session.id != keep_session_id)
        rows = await query
        await User.update({User.device_generation: User.device_generation + 1}).where(User.id == user_id)
        await self._delete_rows([r["token_hash"] for r in rows])
        auth_event("session.revoke_all", user_id=user_id, count=len(rows), kept=keep_session_id)
        return len(rows)

    async def list_for_user(self, user_id: int, *, current_id: int | None = None) -> list[SessionView]:
        now = self.clock()
        rows = await (
            Session.select(
                Session.id,
                Session.created_at,
                Session.last_seen,
                Session.expires_at,
                Session.ip,
                Session.user_agent,
            )
            .where((Session.user == user_id) & (Session.expires_at > now))
            .order_by(Session.last_seen, ascending=False)
        )
        return [
            SessionView(**row, device=describe_device(row["user_agent"]), current=row["id"] == current_id)
            for row in rows
        ]


def new_session_token() -> str:
    """Exposed for tests that forge a cookie: a token no session has."""
    return new_token()[0]
