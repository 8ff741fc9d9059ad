"""Declare an actor kind in a few lines: its kind, its operations (one .lua file each), typed methods."""

from __future__ import annotations

import importlib
import itertools
import os
import pkgutil
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

from actors import alarm_store
from actors.alarm_store import AlarmInfo, Firing, Payload, current_firing
from actors.connection import RedisClient
from actors.events import ActorEvent, parse_event
from actors.keys import (
    InvalidActorId,
    actor_channel,
    fleet_keys,
    hashed_id,
    parent_of,
    scoped,
    state_key,
    validate_actor_id,
    validate_id,
    validate_kind,
)
from actors.scripts import InvalidActorArgument, Script, ScriptRunner, runner_for

__all__ = [
    "Actor",
    "ActorEvent",
    "ActorSet",
    "AlarmInfo",
    "Firing",
    "InvalidActorArgument",
    "InvalidActorId",
    "LiveReader",
    "LiveState",
    "Operation",
    "Payload",
    "actor_channel",
    "current_firing",
    "discover",
    "hashed_id",
    "parse_event",
    "registered",
    "scoped",
]

# Generated request ids only need to outlive redis-py's own retries of one call.
AUTO_REQUEST_TTL_MS = 120_000
# Caller-given ids (idempotency keys from forms, job ids) are remembered for a day.
REQUEST_TTL_MS = 86_400_000

_process_tag = secrets.token_hex(6)
_sequence = itertools.count()


def _new_process_tag() -> None:
    # Forked workers (granian, `serve --workers N`) inherit the parent's tag and counter: without a
    # fresh tag two workers would mint the same request ids, and the second's writes would be taken
    # for repeats of the first's and return its stored result instead of applying.
    global _process_tag, _sequence
    _process_tag = secrets.token_hex(6)
    _sequence = itertools.count()


os.register_at_fork(after_in_child=_new_process_tag)


def new_request_id() -> str:
    """A process-unique request id: random per process, then a counter (cheaper than uuid4)."""
    return f"a{_process_tag}-{next(_sequence)}"


_EXTRA_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
# The request-result key of an operation that never stores a result (reads): a fixed, unwritten name.
_NO_REQUEST = "-"


@dataclass(frozen=True)
class Operation:
    """One script-backed operation; `filename` is a .lua file in the actor's package.

    `keys` names extra keys the script may touch beside the state hash (a set, a sorted set...):
    they are passed as KEYS[3], KEYS[4], ... in the order given, each `actor:<kind>:{<id>}:<name>`,
    so they share the actor's cluster slot. KEYS[2] is always the request-result key.
    """

    filename: str
    mutating: bool = True
    keys: tuple[str, ...] = ()
    script: Script | None = field(default=None, compare=False)
    # Set when the owning Actor class is created: `counter_increment.lua` on kind `counter` -> `increment`.
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for key in self.keys:
            if _EXTRA_KEY.fullmatch(key) is None or key == "rq" or key == "events":
                raise ValueError(
                    f"{self.filename}: extra key name {key!r} must be lowercase letters, digits and _ "
                    "(max 32), and not 'rq' or 'events'"
                )

    def bound_to(self, kind: str, package: str) -> Operation:
        """This operation with its name taken from `kind` and its script loaded from `package`."""
        stem = self.filename.removesuffix(".lua")
        name = stem.removeprefix(f"{kind}_") if stem.startswith(f"{kind}_") else stem
        script = Script.from_package(package, self.filename, kind=kind, op=name)
        return Operation(self.filename, self.mutating, self.keys, script, name)


class LiveState(Protocol):
    """What a readable actor's `get` returns: any state whose `version` counts its changes."""

    @property
    def version(self) -> int: ...


class LiveReader(Protocol):
    """The read convention of an actor kind that live views can follow (see `Actor`)."""

    async def get(self, actor_id: str) -> LiveState: ...

    @staticmethod
    def state_from_event(event: ActorEvent) -> LiveState: ...


def live_reader(actor: Actor) -> LiveReader:
    """`actor` as a LiveReader, or TypeError naming what its class lacks (checked once, at start)."""
    missing = [name for name in ("get", "state_from_event") if not callable(getattr(actor, name, None))]
    if missing:
        raise TypeError(
            f"actor kind {actor.kind!r} ({type(actor).__qualname__}) cannot drive a live view: "
            f"it needs {' and '.join(missing)} (see actors.runtime.Actor)"
        )
    return actor  # type: ignore[return-value]


_registry: dict[str, type[Actor]] = {}
_FLEET_SUFFIXES_TAKEN = frozenset({"rq", "events", "alarm"})
A = TypeVar("A", bound="Actor")


def registered() -> dict[str, type[Actor]]:
    """Every declared actor kind and its class (after `discover()` imported the actor modules)."""
    return dict(sorted(_registry.items()))


def discover(package: str = "actors") -> dict[str, type[Actor]]:
    """Import every module of `package` so each Actor subclass it declares registers itself."""
    root = importlib.import_module(package)
    for module in pkgutil.iter_modules(root.__path__, prefix=f"{package}."):
        if not module.name.rpartition(".")[2].startswith("_"):
            importlib.import_module(module.name)
    return registered()


class Actor:
    """Base of an actor kind: subclasses set `kind` and declare `Operation`s as class attributes.

    State lives under `actor:<kind>:{<id>}`; every operation is one Lua script on that key (plus,
    for mutating operations, a request-result key in the same slot that makes retries exactly-once).

    A kind that live views follow (web/live_views.py) also defines, by convention (`LiveReader`):
    `async def get(self, actor_id) -> State`, the current state, and a static
    `state_from_event(event) -> State`, the same State from a change event its scripts `announce`;
    State has a `version` that grows by one per change.
    """

    kind: ClassVar[str]
    # State fields the admin inspector must not show (message bodies with sign-in links, secrets).
    hidden_fields: ClassVar[frozenset[str]] = frozenset()
    # A fleet kind's tenant actors (`scoped(tenant, name)`) are listed in their tenant's FleetActor:
    # its mutating calls on such ids also get the parent's state and index keys (last two KEYS),
    # and its scripts keep their entry current with the prelude's `report(summary)`.
    fleet: ClassVar[bool] = False
    _operations: ClassVar[dict[str, Operation]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        validate_kind(cls.kind)
        # A subclass that inherits `kind` (a test double, a variant) is the same kind, not a new one.
        declares_kind = "kind" in vars(cls)
        other = _registry.get(cls.kind)
        if declares_kind and other is not None and other.__qualname__ != cls.__qualname__:
            raise TypeError(
                f"actor kind {cls.kind!r} is declared twice: {other.__module__}.{other.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}"
            )
        package = sys.modules[cls.__module__].__package__ or "actors"
        cls._operations = {}
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Operation):
                loaded = value.bound_to(cls.kind, package)
                setattr(cls, attr, loaded)
                cls._operations[attr] = loaded
        if cls.fleet and cls.kind in _FLEET_SUFFIXES_TAKEN:
            # Its index would be the fleet's `actor:fleet:org:{<t>}:<kind>`, a name the runtime uses.
            raise TypeError(f"actor kind {cls.kind!r} cannot be a fleet kind: pick another kind name")
        if declares_kind:
            _registry[cls.kind] = cls

    @classmethod
    def operations(cls) -> dict[str, Operation]:
        """The operations this kind declares, by attribute name."""
        return dict(cls._operations)

    def __init__(self, redis: RedisClient, *, runner: ScriptRunner | None = None) -> None:
        self.redis = redis
        self.runner = runner if runner is not None else runner_for(redis)

    @classmethod
    def channel(cls, actor_id: str) -> str:
        return actor_channel(cls.kind, actor_id)

    async def call(
        self,
        operation: Operation,
        actor_id: str,
        args: Sequence[str | int | float] = (),
        *,
        request_id: str | None = None,
    ) -> bytes:
        """Run `operation` on one actor; returns the script's JSON reply as bytes."""
        if operation.script is None:
            raise TypeError(f"{operation.filename} is not declared on an Actor subclass")
        # The kind was already checked at class creation.
        key = state_key(self.kind, actor_id)
        ttl = REQUEST_TTL_MS
        if operation.mutating:
            if request_id is None:
                request_id, ttl = new_request_id(), AUTO_REQUEST_TTL_MS
            else:
                validate_id(request_id, what="request id")
        else:
            request_id = _NO_REQUEST
        keys = [key, f"{key}:rq:{operation.name}:{request_id}"]
        if operation.keys:
            keys.extend(f"{key}:{name}" for name in operation.keys)
        if self.fleet and operation.mutating and "{" in actor_id:
            parent = parent_of(actor_id)
            if parent is not None:
                keys.extend(fleet_keys(parent, self.kind))
        argv = [self.kind, actor_id, key + ":events", ttl, *args]
        return await self.runner.run(operation.script, keys, argv, mutating=operation.mutating)

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        """Run when this actor's alarm is due; a kind that sets alarms overrides it.

        Runs at least once per set: an exception retries it with backoff (then dead letters), a crash
        re-runs it after the lease. Pass `current_firing().request_id` to the operations it calls so a
        re-run applies each effect once.
        """
        raise TypeError(f"actor kind {self.kind!r} declares no alarm() handler: define async def alarm()")

    def _check_alarm_handler(self) -> None:
        if type(self).alarm is Actor.alarm:
            raise TypeError(f"actor kind {self.kind!r} declares no alarm() handler: define async def alarm()")

    async def set_alarm(self, actor_id: str, *, at: datetime | float, payload: Payload = "") -> int:
        """Schedule the actor's one alarm at `at` (aware datetime or Unix seconds), replacing any other.

        Returns the alarm's generation (part of each firing's request id).
        """
        self._check_alarm_handler()
        return await alarm_store.set_alarm(self.runner, self.kind, actor_id, at, payload)

    async def get_alarm(self, actor_id: str) -> AlarmInfo | None:
        """The actor's pending, running, retrying or dead-lettered alarm, or None."""
        return await alarm_store.get_alarm(self.redis, self.kind, validate_actor_id(actor_id))

    async def cancel_alarm(self, actor_id: str) -> bool:
        """Remove the actor's alarm; True if it had one.

        A kind whose state depends on its alarm overrides it (the outbox marks its mail discarded);
        operators' discards come here too, through `ActorSet.cancel_alarm`.
        """
        return await alarm_store.cancel_alarm(self.runner, self.kind, actor_id)


class ActorSet:
    """One instance of each actor kind on one Redis client, made on first use: `actors.get(CounterActor)`."""

    def __init__(self, redis: RedisClient, *, runner: ScriptRunner | None = None) -> None:
        self.redis = redis
        self.runner = runner
        self._instances: dict[type[Actor], Actor] = {}

    def get(self, cls: type[A]) -> A:
        instance = self._instances.get(cls)
        if instance is None:
            instance = self._instances[cls] = cls(self.redis, runner=self.runner)
        return instance  # type: ignore[return-value]

    async def cancel_alarm(self, kind: str, actor_id: str) -> bool:
        """Cancel `<kind>/<id>`'s alarm through its kind's `cancel_alarm` (the store's, if undeclared)."""
        cls = _registry.get(kind)
        if cls is None:
            return await alarm_store.cancel_alarm(self.runner or runner_for(self.redis), kind, actor_id)
        return await self.get(cls).cancel_alarm(actor_id)

    def of_kind(self, kind: str) -> Actor:
        """The instance of a registered kind by name (the admin inspector's and live views' way in)."""
        cls = _registry.get(kind)
        if cls is None:
            raise KeyError(f"no actor kind {kind!r} is declared (known: {', '.join(sorted(_registry))})")
        return self.get(cls)
