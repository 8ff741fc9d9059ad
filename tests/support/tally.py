"""TallyActor: the tests' own actor kind (a per-id tally with atomic adds and a reset alarm).

Tests of the actor runtime, the admin tools, metrics and alarms use it as "some actor", so they
do not depend on any feature of the app. It registers like every actor: by being declared (its
scripts are read from this package); importing this module is what makes it known.
"""

from __future__ import annotations

import msgspec

from actors.events import ActorEvent
from actors.fleet import FleetActor
from actors.runtime import Actor, Operation, Payload, current_firing


class TallyState(msgspec.Struct, frozen=True):
    """A tally's value, its id and the Redis server time; `version` counts changes."""

    count: int
    id: str
    timestamp: str
    version: int = 0


_decode = msgspec.json.Decoder(TallyState).decode


class TenantTallies(msgspec.Struct, frozen=True):
    """A tenant's tallies (`scoped(tenant, name)`) by name, with their total, from its fleet index."""

    tenant: str
    counts: dict[str, int]
    total: int
    version: int = 0


class TallyActor(Actor):
    """`get`, `increment`, `reset` and `delete` on tallies named by id; each change is published.

    A fleet kind: a tenant's tallies (`scoped(tenant, name)`) are listed with their counts in its fleet.
    """

    kind = "tally"
    fleet = True
    _get = Operation("tally_get.lua", mutating=False)
    _increment = Operation("tally_increment.lua")
    _reset = Operation("tally_reset.lua")
    _delete = Operation("tally_delete.lua")

    async def get(self, tally_id: str) -> TallyState:
        """The current count (0 for a new id) and the Redis server time."""
        return _decode(await self.call(self._get, tally_id))

    async def increment(self, tally_id: str, *, by: int = 1, request_id: str | None = None) -> TallyState:
        """Add `by` atomically; a repeated `request_id` returns the first result without adding again."""
        return _decode(await self.call(self._increment, tally_id, (by,), request_id=request_id))

    async def reset(self, tally_id: str, *, request_id: str | None = None) -> TallyState:
        """Set the count to 0 (a change like any other: versioned and published)."""
        return _decode(await self.call(self._reset, tally_id, request_id=request_id))

    async def delete(self, tally_id: str, *, request_id: str | None = None) -> TallyState:
        """Remove the tally (and its entry in its tenant's fleet); a later increment starts it anew."""
        return _decode(await self.call(self._delete, tally_id, request_id=request_id))

    async def in_tenant(self, tenant: str) -> TenantTallies:
        """The tenant's tallies and their total, as its fleet index lists them (one read)."""
        fleet = await FleetActor(self.redis, runner=self.runner).get(tenant, (self.kind,))
        counts = {name: int(summary["count"]) for name, summary in fleet.children[self.kind].items()}
        return TenantTallies(tenant=tenant, counts=counts, total=sum(counts.values()), version=fleet.version)

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
