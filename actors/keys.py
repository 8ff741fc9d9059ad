"""Actor ids, keys and channels: the only place an actor's Redis names are built."""

from __future__ import annotations

import hashlib
import re

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ID_MATCH = _ID.fullmatch
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
ID_RULE = "1-64 characters from A-Z a-z 0-9 _ . : -"


class InvalidActorId(ValueError):
    """An actor id (or request id) that is empty, too long or has characters outside ID_RULE."""


def validate_id(actor_id: str, *, what: str = "actor id") -> str:
    """Return `actor_id` unchanged if it is a valid id, else raise InvalidActorId."""
    if not isinstance(actor_id, str) or _ID_MATCH(actor_id) is None:
        shown = repr(actor_id) if len(repr(actor_id)) <= 80 else repr(actor_id)[:77] + "..."
        raise InvalidActorId(f"invalid {what} {shown}: use {ID_RULE}")
    return actor_id


def validate_kind(kind: str) -> str:
    if _KIND.fullmatch(kind) is None:
        raise ValueError(f"invalid actor kind {kind!r}: lowercase letters, digits and _ (max 32)")
    return kind


def actor_key(kind: str, actor_id: str, *suffix: str) -> str:
    """`actor:<kind>:{<id>}[:suffix...]`; the braces keep one actor's keys in one cluster slot."""
    base = f"actor:{validate_kind(kind)}:{{{validate_id(actor_id)}}}"
    return ":".join((base, *suffix)) if suffix else base


def actor_channel(kind: str, actor_id: str) -> str:
    """The pub/sub channel every change of this actor is published on (from its Lua script)."""
    return actor_key(kind, actor_id) + ":events"


def hashed_id(raw: str) -> str:
    """A valid actor id for an arbitrary string (an IP, an email, a route): sha256, 32 hex chars."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]
