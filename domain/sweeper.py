"""The sweeper: an actor whose alarm deletes expired sessions and links, stale sign-ups and leaked keys,
and schedules outbox mail whose alarm was never set."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from actors.connection import RedisClient
from actors.outbox import OutboxActor
from actors.runtime import Actor, ActorSet, Payload
from domain.auth.clock import utc_now
from domain.auth.core import TOKEN_LIFETIME, VERIFY_EMAIL, write_transaction
from domain.auth.tables import Account, Session, User, Verification

log = logging.getLogger(__name__)

SWEEPER_ID = "auth"
BATCH = 500  # ids per DELETE ... WHERE id IN (...), well under SQLite's bound-parameter limit
# A sign-up reservation whose link was never followed is removed once the link could no longer work.
UNVERIFIED_GRACE = TOKEN_LIFETIME[VERIFY_EMAIL]


@dataclass(frozen=True, slots=True)
class SweepReport:
    """How many of each were deleted by one sweep, and how many stored mails it scheduled."""

    sessions: int
    verifications: int
    unverified_users: int
    request_keys: int
    unscheduled_mail: int


async def sweep_sessions(now: datetime) -> int:
    rows = await Session.delete().where(Session.expires_at <= now).returning(Session.id)
    return len(rows)


async def sweep_verifications(now: datetime) -> int:
    rows = await Verification.delete().where(Verification.expires_at <= now).returning(Verification.id)
    return len(rows)


async def sweep_unverified_users(now: datetime) -> int:
    """Unconfirmed sign-ups older than a link's lifetime, with no live link and no way to sign in."""
    old = await User.select(User.id).where(
        (User.email_verified == False) & (User.created_at <= now - UNVERIFIED_GRACE)  # noqa: E712
    )
    candidates = {row["id"] for row in old}
    if not candidates:
        return 0
    # An account row (OAuth identity or password) or a link still valid keeps the user.
    kept = await Account.select(Account.user).where(Account.user.is_in(list(candidates)))
    live = await Verification.select(Verification.user).where(
        Verification.user.is_in(list(candidates)) & (Verification.expires_at > now)
    )
    doomed = sorted(candidates - {r["user"] for r in kept} - {r["user"] for r in live})
    deleted = 0
    for start in range(0, len(doomed), BATCH):
        batch = doomed[start : start + BATCH]
        async with write_transaction():
            # Checked again inside the transaction: a link issued since the select keeps its user.
            rows = (
                await User.delete()
                .where(
                    User.id.is_in(batch) & (User.email_verified == False)  # noqa: E712
                )
                .returning(User.id)
            )
        deleted += len(rows)
    return deleted


async def sweep_request_keys(redis: RedisClient) -> int:
    """Request-result keys (`actor:<kind>:{<id>}:rq:...`) without an expiry: each is written with one."""
    deleted = 0
    async for key in redis.scan_iter(match="actor:*:rq:*", count=1000):
        if await redis.pttl(key) == -1:
            deleted += int(await redis.delete(key))
    return deleted


async def sweep(redis: RedisClient, now: datetime | None = None) -> SweepReport:
    """One sweep of everything that expired by `now` (default: the current time)."""
    now = now or utc_now()
    report = SweepReport(
        sessions=await sweep_sessions(now),
        verifications=await sweep_verifications(now),
        unverified_users=await sweep_unverified_users(now),
        request_keys=await sweep_request_keys(redis),
        unscheduled_mail=await OutboxActor(redis).schedule_unsent(),
    )
    log.info(
        "sweep: %d sessions, %d verifications, %d unverified users, %d request keys deleted; "
        "%d stored mails without an alarm scheduled",
        report.sessions,
        report.verifications,
        report.unverified_users,
        report.request_keys,
        report.unscheduled_mail,
    )
    return report


def _every(payload: Payload) -> float:
    every = payload.get("every") if isinstance(payload, dict) else None
    if not isinstance(every, int | float) or every <= 0:
        raise ValueError("the sweeper's alarm payload needs a positive 'every' (seconds)")
    return float(every)


class SweeperActor(Actor):
    """One actor (`auth`) whose alarm sweeps, then sets itself again `every` seconds later."""

    kind = "sweeper"

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        every = _every(payload)
        await sweep(self.redis)
        # Re-armed only after a successful sweep: a failing one is retried (then dead-lettered) instead.
        await self.set_alarm(actor_id, at=time.time() + every, payload={"every": every})


async def arm_sweeper(actors: ActorSet, every: float) -> None:
    """Start sweeping every `every` seconds unless a sweep with that interval is already scheduled."""
    sweeper = actors.get(SweeperActor)
    try:
        pending = await sweeper.get_alarm(SWEEPER_ID)
        payload = pending.payload if pending is not None else None
        if (
            pending is None
            or pending.state == "dead"
            or not isinstance(payload, dict)
            or payload.get("every") != every
        ):
            await sweeper.set_alarm(SWEEPER_ID, at=time.time() + every, payload={"every": every})
    except (RedisError, OSError) as exc:
        # The app still starts without Redis; the next start (or `alarms retry`) arms it.
        log.warning("sweeper: not scheduled, Redis did not answer: %s", exc)
