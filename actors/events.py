"""The change event every actor publishes, and its parser for SSE and other listeners."""

from __future__ import annotations

from typing import Any

import msgspec


class ActorEvent(msgspec.Struct, frozen=True):
    """One state change: `version` increases strictly per actor, so listeners can order and dedupe."""

    kind: str
    id: str
    state: dict[str, Any]
    version: int


_decoder = msgspec.json.Decoder(ActorEvent)


def parse_event(data: bytes | str) -> ActorEvent:
    """Decode a pub/sub message payload; raises msgspec.ValidationError/DecodeError on garbage."""
    return _decoder.decode(data)
