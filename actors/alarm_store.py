"""Actor alarms in Redis: each actor's one pending alarm (in its slot) and the sharded due index."""

from __future__ import annotations

import contextvars
import json
import re
import time
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from actors.connection import RedisClient
from actors.keys import (
    PLAIN_ID_PATTERN,
    SCOPED_ID_PATTERN,
    actor_key,
    hashed_id,
    validate_actor_id,
    validate_kind,
)
from actors.scripts import InvalidActorArgument, Script, ScriptRunner

# A fixed number of index shards, each its own hash tag `{n}`: Redis Cluster spreads them over its
# nodes, and every claim touches one shard's keys only. Changing it orphans indexed alarms.
SHARDS = 16
MAX_PAYLOAD_BYTES = 16_384
# A spent record (its alarm ran, was cancelled or discarded; only `gen` left) expires after this.
# It must outlive every request-result key its firings wrote (REQUEST_TTL_MS, a day, from a call
# made within a lease of at most a day) and any pending outbox mail it vouches for (PENDING_TTL_MS,
# 7 days from the put); tests/actors/test_alarms.py checks both bounds. See docs/alarms.md.
SPENT_RECORD_TTL_MS = 8 * 86_400_000

Payload = dict[str, object] | str
AlarmState = Literal["pending", "running", "retrying", "dead"]
INDEX_SETS = ("due", "running", "retrying", "dead")

_PACKAGE = __package__ or "actors"
SET = Script.from_package(_PACKAGE, "alarm_set.lua", prelude=False)
BEGIN = Script.from_package(_PACKAGE, "alarm_begin.lua", prelude=False)
FINISH = Script.from_package(_PACKAGE, "alarm_finish.lua", prelude=False)
REVIVE = Script.from_package(_PACKAGE, "alarm_revive.lua", prelude=False)
CANCEL = Script.from_package(_PACKAGE, "alarm_cancel.lua", prelude=False)
CLAIM = Script.from_package(_PACKAGE, "alarms_claim.lua", prelude=False)
INDEX = Script.from_package(_PACKAGE, "alarms_index.lua", prelude=False)


def member_of(kind: str, actor_id: str) -> str:
    """The due index's name for one actor's alarm: `<kind>/<id>` (the kind has no '/')."""
    return f"{validate_kind(kind)}/{validate_actor_id(actor_id)}"


def parse_member(member: str) -> tuple[str, str]:
    """`<kind>/<id>` back to (kind, id); ValueError when it is not one."""
    kind, slash, actor_id = member.partition("/")
    if not slash:
        raise ValueError(f"{member!r} is not <kind>/<id>")
    return validate_kind(kind), validate_actor_id(actor_id)


def alarm_key(kind: str, actor_id: str) -> str:
    """`actor:<kind>:{<id>}:alarm`: beside the actor's state, in its cluster slot."""
    return actor_key(kind, actor_id, "alarm")


# `actor:<kind>:{<id>}:alarm` or `actor:<kind>:org:{<tenant>}[/<name>]:alarm` read back (plain ids
# never hold braces, scoped ids never a ':'; see actors/keys.py).
_ALARM_KEY = re.compile(
    rf"actor:([a-z][a-z0-9_]{{0,31}}):(?:\{{({PLAIN_ID_PATTERN})\}}|({SCOPED_ID_PATTERN})):alarm"
)
ALARM_KEY_PATTERN = "actor:*:alarm"


def member_of_key(key: bytes | str) -> str | None:
    """The index member (`<kind>/<id>`) of an alarm record's key, or None for any other key."""
    match = _ALARM_KEY.fullmatch(_text(key))
    return f"{match[1]}/{match[2] or match[3]}" if match else None


def shard_of(member: str) -> int:
    """Which index shard holds `member` (CRC32, stable across processes and versions)."""
    return zlib.crc32(member.encode()) % SHARDS


def shard_keys(shard: int) -> list[str]:
    """The shard's due, running, retrying and dead sorted sets (`alarms:{<n>}:<set>`)."""
    return [f"alarms:{{{shard}}}:{name}" for name in INDEX_SETS]


def request_id_for(actor_id: str, generation: int) -> str:
    """The request id of every try of one firing: `alarm:<id>:<generation>` (hashed id when too long)."""
    request_id = f"alarm:{actor_id}:{generation}"
    plain = len(request_id) <= 64 and "{" not in actor_id  # a scoped id's braces are no request id
    return request_id if plain else f"alarm:{hashed_id(actor_id)}:{generation}"


@dataclass(frozen=True, slots=True)
class Firing:
    """What an `alarm()` handler may ask about the firing it runs in (see `current_firing`)."""

    kind: str
    actor_id: str
    generation: int
    attempt: int
    at: datetime
    request_id: str


_firing: contextvars.ContextVar[Firing | None] = contextvars.ContextVar("alarm_firing", default=None)


def current_firing() -> Firing:
    """The firing being handled: pass its `request_id` to actor operations so a re-run applies once."""
    firing = _firing.get()
    if firing is None:
        raise RuntimeError("current_firing() is only available inside an actor's alarm() handler")
    return firing


def enter_firing(firing: Firing) -> contextvars.Token[Firing | None]:
    """Make `firing` current for the handler about to run (the scheduler's side of `current_firing`)."""
    return _firing.set(firing)


def leave_firing(token: contextvars.Token[Firing | None]) -> None:
    _firing.reset(token)


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    """One actor's pending alarm as Redis holds it."""

    kind: str
    actor_id: str
    at: datetime
    next_at: datetime
    payload: Payload
    state: AlarmState
    attempt: int
    generation: int
    error: str

    @property
    def member(self) -> str:
        return f"{self.kind}/{self.actor_id}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def info_from(kind: str, actor_id: str, raw: Mapping[bytes | str, bytes | str]) -> AlarmInfo | None:
    """An AlarmInfo from the record's HGETALL reply, or None when the actor has no alarm."""
    record = {_text(k): _text(v) for k, v in raw.items()}
    if "at" not in record:
        return None
    attempt = int(record.get("attempt", "0"))
    state: AlarmState
    if record.get("dead") == "1":
        state = "dead"
    elif int(record.get("lease", "0")) > time.time() * 1000 and "owner" in record:
        state = "running"
    elif attempt > 0:
        state = "retrying"
    else:
        state = "pending"
    payload: Payload = json.loads(record.get("payload", '""'))
    return AlarmInfo(
        kind=kind,
        actor_id=actor_id,
        at=moment(int(record["at"])),
        next_at=moment(int(record.get("next", record["at"]))),
        payload=payload,
        state=state,
        attempt=attempt,
        generation=int(record.get("gen", "0")),
        error=record.get("error", ""),
    )


def _at_ms(at: datetime | float) -> int:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise InvalidActorArgument("at must be an aware datetime (a naive one has no definite time)")
        return round(at.timestamp() * 1000)
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 1e11:
        raise InvalidActorArgument("at must be a datetime or Unix time in seconds")
    return round(at * 1000)


def _encode_payload(payload: Payload) -> str:
    if not isinstance(payload, dict | str):
        raise InvalidActorArgument("payload must be a dict or a str")
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidActorArgument(f"payload must be JSON-serialisable: {exc}") from None
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidActorArgument(f"payload is over {MAX_PAYLOAD_BYTES} bytes as JSON")
    return text


async def index(runner: ScriptRunner, action: str, member: str, score: int = 0) -> None:
    """Move `member` in its shard's index (see alarms_index.lua for the actions)."""
    await runner.run(INDEX, shard_keys(shard_of(member)), (action, member, score))


# Schedulers running in this process, told when an alarm is set so an early one is not left to the next poll.
_wake_listeners: weakref.WeakSet[WakeListener] = weakref.WeakSet()


class WakeListener:
    """Base of whatever wants to hear of alarms set in this process (the scheduler)."""

    def alarm_set(self, at_ms: int) -> None:
        """Called after an alarm due at `at_ms` was written; must not block."""


def listen_for_alarms(listener: WakeListener) -> None:
    _wake_listeners.add(listener)


def stop_listening(listener: WakeListener) -> None:
    _wake_listeners.discard(listener)


async def set_alarm(
    runner: ScriptRunner, kind: str, actor_id: str, at: datetime | float, payload: Payload
) -> int:
    """Set (or replace) the actor's one alarm; returns its new generation.

    The record goes first and the index second: a claim between the two finds no index entry yet,
    never an entry without its record. A process dying between them leaves the alarm unindexed
    until the schedulers' next `repair_index` pass.
    """
    member = member_of(kind, actor_id)
    at_ms = _at_ms(at)
    reply = await runner.run(SET, [alarm_key(kind, actor_id)], (at_ms, _encode_payload(payload)))
    await index(runner, "schedule", member, at_ms)
    for listener in list(_wake_listeners):
        listener.alarm_set(at_ms)
    return int(reply)


async def get_alarm(redis: RedisClient, kind: str, actor_id: str) -> AlarmInfo | None:
    """The actor's pending (or dead-lettered) alarm, or None."""
    raw = await redis.hgetall(alarm_key(kind, actor_id))  # type: ignore[misc]
    return info_from(kind, actor_id, raw)


async def cancel_alarm(runner: ScriptRunner, kind: str, actor_id: str) -> bool:
    """Remove the actor's alarm (pending, retrying or dead); True if there was one.

    A firing already running finishes; its result is then dropped and its handler is not retried.
    The record keeps its generation, with an expiry (SPENT_RECORD_TTL_MS).
    """
    member = member_of(kind, actor_id)
    removed = int(await runner.run(CANCEL, [alarm_key(kind, actor_id)], (SPENT_RECORD_TTL_MS,)))
    await index(runner, "cancel", member)
    return removed > 0


async def retry_alarm(runner: ScriptRunner, kind: str, actor_id: str) -> bool:
    """Make the actor's alarm (dead-lettered or waiting) due now with a fresh count of tries.

    Two writes like `set_alarm`: a process dying between them leaves the revived record in the dead
    set until `repair_index` schedules it.
    """
    member = member_of(kind, actor_id)
    due = int(await runner.run(REVIVE, [alarm_key(kind, actor_id)], ()))
    if due == 0:
        return False
    await index(runner, "schedule", member, due)
    for listener in list(_wake_listeners):
        listener.alarm_set(due)
    return True


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    """Index sizes over every shard: scheduled, due now, leased, waiting to retry, dead-lettered."""

    scheduled: int
    due: int
    running: int
    retrying: int
    dead: int


async def alarm_counts(redis: RedisClient) -> AlarmCounts:
    now_ms = int(time.time() * 1000)
    pipe = redis.pipeline(transaction=False)
    for shard in range(SHARDS):
        due, running, retrying, dead = shard_keys(shard)
        pipe.zcard(due)
        pipe.zcount(due, "-inf", now_ms)
        pipe.zcard(running)
        pipe.zcard(retrying)
        pipe.zcard(dead)
    replies: Sequence[int] = await pipe.execute()
    totals = [sum(int(x) for x in replies[i::5]) for i in range(5)]
    return AlarmCounts(*totals)


async def list_alarms(redis: RedisClient, *, limit: int = 100) -> list[AlarmInfo]:
    """Up to `limit` alarms from every shard (due soonest first), read from their records."""
    pipe = redis.pipeline(transaction=False)
    for shard in range(SHARDS):
        for key in shard_keys(shard):
            if not key.endswith(":retrying"):  # retrying members are in due as well
                pipe.zrange(key, 0, limit - 1, withscores=True)
    replies: list[list[tuple[bytes, float]]] = await pipe.execute()
    seen: dict[str, float] = {}
    for reply in replies:
        for raw, score in reply:
            seen.setdefault(_text(raw), score)
    members = sorted(seen, key=seen.__getitem__)[:limit]
    parsed = [parse_member(m) for m in members]
    pipe = redis.pipeline(transaction=False)
    for kind, actor_id in parsed:
        pipe.hgetall(alarm_key(kind, actor_id))
    records: list[dict[bytes | str, bytes | str]] = await pipe.execute() if parsed else []
    infos = [info_from(kind, actor_id, raw) for (kind, actor_id), raw in zip(parsed, records, strict=True)]
    return [info for info in infos if info is not None]


REPAIR_BATCH = 500  # records read (and index sets checked) per pipelined round trip


async def repair_index(runner: ScriptRunner, *, match: str = ALARM_KEY_PATTERN) -> int:
    """Index every alarm record no index set names; returns how many it indexed.

    Only a writer that died between a record and its index leaves one (`set_alarm`, `retry_alarm`;
    every other window is closed by the lease). One SCAN over every node (`match` narrows it), then
    per batch one pipelined read of the records and their index sets; the shard script re-checks.
    """
    repaired = 0
    batch: list[bytes | str] = []
    async for key in runner.redis.scan_iter(match=match, count=1000, _type="hash"):
        batch.append(key)
        if len(batch) >= REPAIR_BATCH:
            repaired += await _repair_batch(runner, batch)
            batch = []
    if batch:
        repaired += await _repair_batch(runner, batch)
    return repaired


async def _repair_batch(runner: ScriptRunner, keys: list[bytes | str]) -> int:
    pipe = runner.redis.pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, "next", "dead", "died")
    records: list[list[bytes | None]] = await pipe.execute()
    # (member, live or dead, score) of every record that holds an alarm
    alarms: list[tuple[str, str, int]] = []
    for key, (next_ms, dead, died) in zip(keys, records, strict=True):
        member = member_of_key(key)
        if member is None or next_ms is None:
            continue  # not an alarm record, or a spent one (only `gen` left, expiring)
        if dead == b"1":
            alarms.append((member, "dead", int(died or next_ms)))
        else:
            alarms.append((member, "live", int(next_ms)))
    if not alarms:
        return 0
    pipe = runner.redis.pipeline(transaction=False)
    for member, _, _ in alarms:
        due, running, _, dead_set = shard_keys(shard_of(member))
        pipe.zscore(due, member)
        pipe.zscore(running, member)
        pipe.zscore(dead_set, member)
    scores: list[float | None] = await pipe.execute()
    repaired = 0
    for n, (member, state, score) in enumerate(alarms):
        in_due, in_running, in_dead = scores[3 * n : 3 * n + 3]
        if in_due is not None or in_running is not None or (state == "dead" and in_dead is not None):
            continue
        reply = await runner.run(INDEX, shard_keys(shard_of(member)), ("repair", member, score, state))
        repaired += int(reply)
    return repaired
