"""TallyActor: the tests' own actor kind (a per-id tally with atomic adds and a reset alarm).

Tests of the actor runtime, the admin tools, metrics and alarms use it as "some actor", so they
do not depend on any feature of the app. It registers like every actor: by being declared (its
scripts are read from this package); importing this module is what makes it known.
"""

from __future__ import annotations

import msgspec

from actors.events import ActorEvent
from actors.runtime import Actor, Operation, Payload, current_firing


class TallyState(msgspec.Struct, frozen=True):
    """A tally's value, its id and the Redis server time; `version` counts changes."""

    count: int
    id: str
    timestamp: str
    version: int = 0


_decode = msgspec.json.Decoder(TallyState).decode


class TallyActor(Actor):
    """`get`, `increment` and `reset` on tallies named by id; each change is published on its channel."""

    kind = "tally"
    _get = Operation("tally_get.lua", mutating=False)
    _increment = Operation("tally_increment.lua")
    _reset = Operation("tally_reset.lua")

    async def get(self, tally_id: str) -> TallyState:
        """The current count (0 for a new id) and the Redis server time."""
        return _decode(await self.call(self._get, tally_id))

    async def increment(self, tally_id: str, *, by: int = 1, request_id: str | None = None) -> TallyState:
        """Add `by` atomically; a repeated `request_id` returns the first result without adding again."""
        return _decode(await self.call(self._increment, tally_id, (by,), request_id=request_id))

    async def reset(self, tally_id: str, *, request_id: str | None = None) -> TallyState:
        """Set the count to 0 (a change like any other: versioned and published)."""
        return _decode(await self.call(self._reset, tally_id, request_id=request_id))

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        """A "reset at" alarm: reset once per firing, however often it is re-run."""
        await self.reset(actor_id, request_id=current_firing().request_id)

    @staticmethod
    def state_from_event(event: ActorEvent) -> TallyState:
        """The TallyState carried by a change event from `actor_channel("tally", id)`."""
        return TallyState(
            count=int(event.state["count"]),
            id=event.id,
            timestamp=str(event.state["timestamp"]),
            version=event.version,
        )
