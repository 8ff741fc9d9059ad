"""Actor ids, keys and channels: the only place an actor's Redis names are built."""

from __future__ import annotations

import hashlib
import re

PLAIN_ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
_ID_MATCH = re.compile(PLAIN_ID_PATTERN).fullmatch
# A tenant-scoped id: `org:{<tenant>}` (the tenant's own actor, a fleet's parent) or
# `org:{<tenant>}/<name>` (one of the tenant's actors). The braces are the cluster hash tag. Neither
# part has a ':', so every key of the actor (`...:<suffix>`) starts after its whole id.
SCOPED_ID_PATTERN = r"org:\{([A-Za-z0-9_.-]{1,64})\}(?:/([A-Za-z0-9_.-]{1,64}))?"
_SCOPED_MATCH = re.compile(SCOPED_ID_PATTERN).fullmatch
_PART_MATCH = re.compile(r"[A-Za-z0-9_.-]{1,64}").fullmatch
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
ID_RULE = "1-64 characters from A-Z a-z 0-9 _ . : -"
SCOPED_RULE = "1-64 characters from A-Z a-z 0-9 _ . -"


class InvalidActorId(ValueError):
    """An actor id (or request id) that is empty, too long or has characters outside ID_RULE."""


def validate_id(actor_id: str, *, what: str = "actor id") -> str:
    """Return `actor_id` unchanged if it is a valid plain id, else raise InvalidActorId.

    Plain ids never name a tenant's actor: check ids from URLs and forms with this one, and build
    tenant-scoped ids server-side with `scoped()` from the tenant the caller is in.
    """
    if not isinstance(actor_id, str) or _ID_MATCH(actor_id) is None:
        shown = repr(actor_id) if len(repr(actor_id)) <= 80 else repr(actor_id)[:77] + "..."
        raise InvalidActorId(f"invalid {what} {shown}: use {ID_RULE}")
    return actor_id


def validate_actor_id(actor_id: str) -> str:
    """`actor_id` if it is a plain id or a tenant-scoped one (`scoped()`), else InvalidActorId."""
    if isinstance(actor_id, str) and (_ID_MATCH(actor_id) is not None or _SCOPED_MATCH(actor_id) is not None):
        return actor_id
    return validate_id(actor_id)  # raises, naming the plain rule


def scoped(tenant: str, name: str = "") -> str:
    """The id of `tenant`'s actor `name` (`org:{<tenant>}/<name>`), or of the tenant's own actor.

    Both are 1-64 characters from A-Z a-z 0-9 _ . - (no ':', unlike plain ids).

    Every key of every actor scoped to one tenant shares the hash tag `{<tenant>}`, so one Lua
    script may touch a tenant's actors together, on Redis Cluster too (see the fleet pattern).
    """
    for what, part in (("tenant", tenant), ("scoped actor name", name or "-")):
        if not isinstance(part, str) or _PART_MATCH(part) is None:
            raise InvalidActorId(f"invalid {what} {part!r}: use {SCOPED_RULE}")
    return f"org:{{{tenant}}}/{name}" if name else f"org:{{{tenant}}}"


def tenant_of(actor_id: str) -> str | None:
    """The tenant a scoped id belongs to, None for a plain id."""
    match = _SCOPED_MATCH(actor_id)
    return match.group(1) if match else None


def parent_of(actor_id: str) -> str | None:
    """`org:{<tenant>}` for a tenant's actor `org:{<tenant>}/<name>`; None for any other id."""
    match = _SCOPED_MATCH(actor_id)
    return f"org:{{{match.group(1)}}}" if match and match.group(2) else None


def child_name(actor_id: str) -> str:
    """`<name>` of `org:{<tenant>}/<name>` (the key of its entry in its parent's index)."""
    return actor_id.rpartition("/")[2]


def validate_kind(kind: str) -> str:
    if _KIND.fullmatch(kind) is None:
        raise ValueError(f"invalid actor kind {kind!r}: lowercase letters, digits and _ (max 32)")
    return kind


def state_key(kind: str, actor_id: str) -> str:
    """`actor:<kind>:{<id>}`, or `actor:<kind>:org:{<tenant>}[/<name>]` for a scoped id.

    The braces are the cluster hash tag: a plain id's slot is its own, a scoped id's is its tenant's.
    `kind` must already be valid (the runtime checks it once per class).
    """
    if "{" in actor_id:
        return f"actor:{kind}:{validate_actor_id(actor_id)}"
    return f"actor:{kind}:{{{validate_id(actor_id)}}}"


def fleet_keys(parent_id: str, child_kind: str) -> tuple[str, str]:
    """The parent's state key and its index of `child_kind` children: `actor:fleet:org:{<t>}[:<kind>]`."""
    parent = state_key("fleet", parent_id)
    return parent, f"{parent}:{child_kind}"


def actor_key(kind: str, actor_id: str, *suffix: str) -> str:
    """The actor's state key (`state_key`) and suffixes after it, all in one cluster slot."""
    base = state_key(validate_kind(kind), actor_id)
    return ":".join((base, *suffix)) if suffix else base


def actor_channel(kind: str, actor_id: str) -> str:
    """The pub/sub channel every change of this actor is published on (from its Lua script)."""
    return actor_key(kind, actor_id) + ":events"


def hashed_id(raw: str) -> str:
    """A valid actor id for an arbitrary string (an IP, an email, a route): sha256, 32 hex chars."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]
