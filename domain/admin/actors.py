"""The actor inspector's use cases: list actor kinds, read one actor's Redis state and alarm, reset it."""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.alarm_store import AlarmInfo, get_alarm
from actors.connection import RedisClient
from actors.keys import InvalidActorId, actor_key, hashed_id, validate_actor_id
from actors.runtime import discover, registered
from actors.usage import UsageActor, UsageBucket
from domain.errors import ValidationFailed

MAX_RELATED = 1000
# Other keys of an actor shown in full (a usage actor's buckets, a fleet's index): the first 60 by name.
MAX_SHOWN = 60
USAGE_DAYS = 30


def known_kinds() -> list[str]:
    """Every actor kind declared in the `actors` package (each class registers itself)."""
    return list(discover())


@dataclass(frozen=True, slots=True)
class ActorRef:
    """One actor: its kind, its id and the key holding its state."""

    kind: str
    actor_id: str
    key: str


@dataclass(frozen=True, slots=True)
class SlotKey:
    """Another key of the actor in its slot (a time bucket, an index), by its name after the state key."""

    suffix: str
    redis_type: str
    fields: list[tuple[str, str]]
    ttl_ms: int | None


@dataclass(frozen=True, slots=True)
class ActorSnapshot:
    """What Redis holds for one actor right now."""

    ref: ActorRef
    exists: bool
    redis_type: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    ttl_ms: int | None = None
    # Remembered results of mutating requests (the exactly-once records), in the same hash slot.
    request_keys: int = 0
    # Its pending alarm (or a dead-lettered one), kept beside its state.
    alarm: AlarmInfo | None = None
    # Its other keys (not requests, not the alarm), shown like the state.
    others: list[SlotKey] = field(default_factory=list)
    # A usage actor's last 30 days, for the chart.
    usage_days: list[UsageBucket] | None = None


def resolve_actor(kind: str, raw_id: str, *, hash_id: bool = False) -> ActorRef:
    """The actor of `kind` with this id (or this raw key hashed, as rate limits do), else ValidationFailed."""
    errors: dict[str, str] = {}
    kinds = known_kinds()
    if kind not in kinds:
        errors["kind"] = f"Choose one of: {', '.join(kinds)}."
    raw_id = raw_id.strip()
    actor_id = hashed_id(raw_id) if hash_id and raw_id else raw_id
    try:
        validate_actor_id(actor_id)
    except InvalidActorId as exc:
        errors["id"] = str(exc)
    if errors:
        raise ValidationFailed("Check the actor kind and id.", field_errors=errors)
    return ActorRef(kind=kind, actor_id=actor_id, key=actor_key(kind, actor_id))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def _related_keys(redis: RedisClient, ref: ActorRef) -> list[bytes]:
    # The id alphabet has no glob characters, so the key is its own pattern.
    keys: list[bytes] = []
    async for key in redis.scan_iter(match=f"{ref.key}:*", count=500):
        keys.append(key)
        if len(keys) >= MAX_RELATED:
            break
    return keys


async def _read_key(redis: RedisClient, key: str | bytes, hidden: frozenset[str]) -> SlotKey:
    """One key's type, TTL and content (a hash's fields, a string's value; other types by type only)."""
    redis_type = _text(await redis.type(key))
    fields: list[tuple[str, str]] = []
    if redis_type == "hash":
        raw = await redis.hgetall(key)  # type: ignore[misc]
        fields = sorted(
            (name, f"(hidden: {len(v)} bytes)" if name in hidden else _text(v))
            for name, v in ((_text(k), v) for k, v in raw.items())
        )
    elif redis_type == "string":
        value = await redis.get(key)
        fields = [("value", _text(value or b""))]
    ttl = int(await redis.pttl(key))
    return SlotKey(suffix="", redis_type=redis_type, fields=fields, ttl_ms=ttl if ttl >= 0 else None)


async def inspect_actor(redis: RedisClient, ref: ActorRef) -> ActorSnapshot:
    actor = registered().get(ref.kind)
    hidden = actor.hidden_fields if actor is not None else frozenset()
    state = await _read_key(redis, ref.key, hidden)
    related = [_text(key) for key in await _related_keys(redis, ref)]
    requests = [key for key in related if key.startswith(f"{ref.key}:rq:")]
    alarm = f"{ref.key}:alarm"
    other_names = sorted(key for key in related if key not in requests and key != alarm)[:MAX_SHOWN]
    others = [
        SlotKey(key.removeprefix(f"{ref.key}:"), s.redis_type, s.fields, s.ttl_ms)
        for key, s in [(key, await _read_key(redis, key, hidden)) for key in other_names]
    ]
    usage_days = (
        await UsageActor(redis).days(ref.actor_id, USAGE_DAYS) if ref.kind == UsageActor.kind else None
    )
    return ActorSnapshot(
        ref=ref,
        exists=state.redis_type != "none",
        redis_type=state.redis_type,
        fields=state.fields,
        ttl_ms=state.ttl_ms,
        request_keys=len(requests),
        alarm=await get_alarm(redis, ref.kind, ref.actor_id),
        others=others,
        usage_days=usage_days,
    )


async def reset_actor(redis: RedisClient, ref: ActorRef) -> int:
    """Delete the actor's state and its remembered request results; returns how many keys went.

    The next operation on the actor starts from its initial state, as for a brand-new id.
    All keys share the actor's hash tag, so one DEL works on Redis Cluster too.
    """
    keys = [ref.key.encode(), *await _related_keys(redis, ref)]
    return int(await redis.delete(*keys))
