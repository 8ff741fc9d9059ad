"""UsageActor: events counted per hour and per day for one subject (a tenant or a user).

The Analytics Engine pattern on Redis: each `record` is one script doing HINCRBY on the subject's
hour bucket and day bucket (hashes of event -> count, keys in the subject's slot made from Redis
time), each with a TTL, so old buckets drop by themselves and nothing needs a cleanup job.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec

from actors.runtime import Actor, Operation, scoped

# How long buckets are kept after their last write: the longest range `days()`/`hours()` can read.
DAYS_KEPT = 90
HOURS_KEPT = 48
EVENT_RULE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")


def tenant_subject(tenant: str) -> str:
    """The usage actor id of a tenant, in its slot: `org:{<tenant>}/usage`."""
    return scoped(tenant, "usage")


def user_subject(user_id: int | str) -> str:
    """The usage actor id of one user: `user:<id>`."""
    return f"user:{user_id}"


def validate_event(event: str) -> str:
    if not isinstance(event, str) or EVENT_RULE.fullmatch(event) is None:
        raise ValueError(f"invalid usage event {event!r}: 1-64 of a-z 0-9 _ . : - (first a-z or 0-9)")
    return event


class UsageBucket(msgspec.Struct, frozen=True):
    """One UTC day (or hour) and its counts by event."""

    start: datetime
    counts: dict[str, int]

    def count(self, event: str) -> int:
        return self.counts.get(event, 0)


class _Buckets(msgspec.Struct, frozen=True):
    # The newest bucket's number (days or hours since 1970-01-01 UTC), then counts newest first.
    now: int
    buckets: list[dict[str, int]]


_decode_record = msgspec.json.Decoder(dict[str, int]).decode
_decode_buckets = msgspec.json.Decoder(_Buckets).decode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UsageActor(Actor):
    """`record(subject, event)` counts; `days(subject, n)` / `hours(subject, n)` read the last n buckets."""

    kind = "usage"
    _record = Operation("usage_record.lua")
    _read = Operation("usage_read.lua", mutating=False)

    async def record(
        self, subject: str, event: str, *, by: int = 1, request_id: str | None = None
    ) -> dict[str, int]:
        """Add `by` to `event` in this hour's and today's buckets; returns {"hour": n, "day": n}."""
        args = (validate_event(event), by, HOURS_KEPT * 3600, DAYS_KEPT * 86400)
        return _decode_record(await self.call(self._record, subject, args, request_id=request_id))

    async def days(self, subject: str, n: int = 30) -> list[UsageBucket]:
        """The last `n` UTC days, oldest first, today last (days with no events count nothing)."""
        return await self._buckets(subject, "d", n, DAYS_KEPT, timedelta(days=1))

    async def hours(self, subject: str, n: int = 24) -> list[UsageBucket]:
        """The last `n` hours, oldest first, the current hour last."""
        return await self._buckets(subject, "h", n, HOURS_KEPT, timedelta(hours=1))

    async def _buckets(
        self, subject: str, unit: str, n: int, kept: int, step: timedelta
    ) -> list[UsageBucket]:
        if not 1 <= n <= kept:
            raise ValueError(f"n must be from 1 to {kept}")
        reply = _decode_buckets(await self.call(self._read, subject, (unit, n)))
        return [
            UsageBucket(start=_EPOCH + step * (reply.now - back), counts=counts)
            for back, counts in reversed(list(enumerate(reply.buckets)))
        ]
