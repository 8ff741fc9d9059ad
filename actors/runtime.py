"""Declare an actor kind in a few lines: its kind, its operations (one .lua file each), typed methods."""

from __future__ import annotations

import itertools
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from actors.connection import RedisClient
from actors.events import ActorEvent, parse_event
from actors.keys import (
    InvalidActorId,
    actor_channel,
    hashed_id,
    validate_id,
    validate_kind,
)
from actors.scripts import InvalidActorArgument, Script, ScriptRunner, runner_for

__all__ = [
    "Actor",
    "ActorEvent",
    "InvalidActorArgument",
    "InvalidActorId",
    "Operation",
    "actor_channel",
    "hashed_id",
    "parse_event",
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


@dataclass(frozen=True)
class Operation:
    """One script-backed operation; `filename` is a .lua file in the actor's package."""

    filename: str
    mutating: bool = True
    script: Script | None = field(default=None, compare=False)
    name: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # `counter_increment.lua` -> `increment`: the op's part of its request-result keys.
        object.__setattr__(self, "name", self.filename.removesuffix(".lua").partition("_")[2])


class Actor:
    """Base of an actor kind: subclasses set `kind` and declare `Operation`s as class attributes.

    State lives under `actor:<kind>:{<id>}`; every operation is one Lua script on that key (plus,
    for mutating operations, a request-result key in the same slot that makes retries exactly-once).
    """

    kind: ClassVar[str]
    _operations: ClassVar[dict[str, Operation]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        validate_kind(cls.kind)
        package = sys.modules[cls.__module__].__package__ or "actors"
        cls._operations = {}
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Operation):
                loaded = Operation(
                    value.filename, value.mutating, Script.from_package(package, value.filename)
                )
                setattr(cls, attr, loaded)
                cls._operations[attr] = loaded

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
        # Same as actor_key(); spelled out because the kind was already checked at class creation.
        state_key = f"actor:{self.kind}:{{{validate_id(actor_id)}}}"
        keys = [state_key]
        ttl = REQUEST_TTL_MS
        if operation.mutating:
            if request_id is None:
                request_id, ttl = new_request_id(), AUTO_REQUEST_TTL_MS
            else:
                validate_id(request_id, what="request id")
            keys.append(f"{state_key}:rq:{operation.name}:{request_id}")
        argv = [self.kind, actor_id, state_key + ":events", ttl, *args]
        return await self.runner.run(operation.script, keys, argv, mutating=operation.mutating)
