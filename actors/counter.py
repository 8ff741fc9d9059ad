"""CounterActor: the original's CounterDO, a per-id counter with atomic increments and a reset alarm."""

from __future__ import annotations

import msgspec

from actors.events import ActorEvent
from actors.fleet import FleetActor
from actors.runtime import Actor, Operation, Payload, current_firing


class CounterState(msgspec.Struct, frozen=True):
    """What GET/POST /counter/{id} return ({count, id, timestamp}); `version` counts changes."""

    count: int
    id: str
    timestamp: str
    version: int = 0


_decode = msgspec.json.Decoder(CounterState).decode


class TenantCounters(msgspec.Struct, frozen=True):
    """A tenant's counters (`scoped(tenant, name)`) by name, with their total, from its fleet index."""

    tenant: str
    counts: dict[str, int]
    total: int
    version: int = 0


class CounterActor(Actor):
    """`get` and `increment` on counters named by id; each increment is published on its channel.

    A tenant's counters (`scoped(tenant, name)`) are listed with their counts in the tenant's fleet.
    """

    kind = "counter"
    fleet = True
    _get = Operation("counter_get.lua", mutating=False)
    _increment = Operation("counter_increment.lua")
    _reset = Operation("counter_reset.lua")
    _delete = Operation("counter_delete.lua")

    async def get(self, counter_id: str) -> CounterState:
        """The current count (0 for a new id) and the Redis server time."""
        return _decode(await self.call(self._get, counter_id))

    async def increment(self, counter_id: str, *, by: int = 1, request_id: str | None = None) -> CounterState:
        """Add `by` atomically; a repeated `request_id` returns the first result without adding again."""
        return _decode(await self.call(self._increment, counter_id, (by,), request_id=request_id))

    async def reset(self, counter_id: str, *, request_id: str | None = None) -> CounterState:
        """Set the count to 0 (a change like any other: versioned and published)."""
        return _decode(await self.call(self._reset, counter_id, request_id=request_id))

    async def delete(self, counter_id: str, *, request_id: str | None = None) -> CounterState:
        """Remove the counter (and its entry in its tenant's fleet); a later increment starts it anew."""
        return _decode(await self.call(self._delete, counter_id, request_id=request_id))

    async def in_tenant(self, tenant: str) -> TenantCounters:
        """The tenant's counters and their total, as its fleet index lists them (one read)."""
        fleet = await FleetActor(self.redis, runner=self.runner).get(tenant, (self.kind,))
        counts = {name: int(summary["count"]) for name, summary in fleet.children[self.kind].items()}
        return TenantCounters(tenant=tenant, counts=counts, total=sum(counts.values()), version=fleet.version)

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        """A "reset at" alarm: reset once per firing, however often it is re-run."""
        await self.reset(actor_id, request_id=current_firing().request_id)

    @staticmethod
    def state_from_event(event: ActorEvent) -> CounterState:
        """The CounterState carried by a change event from `actor_channel("counter", id)`."""
        return CounterState(
            count=int(event.state["count"]),
            id=event.id,
            timestamp=str(event.state["timestamp"]),
            version=event.version,
        )
