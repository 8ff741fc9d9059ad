"""FleetActor: a tenant's own actor, `org:{<tenant>}`, listing the tenant's actors of every fleet kind.

The fleet pattern: a parent that tracks its children. A kind declared `fleet = True` (the counter)
keeps its tenant actors' entries in the parent's index from inside each of its own scripts
(`report()` in the prelude), so creating, changing or deleting a child and updating the index are
one atomic script. Parent and children share the tenant's hash tag: one cluster slot.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.runtime import Actor, Operation, discover, scoped


class Fleet(msgspec.Struct, frozen=True):
    """A tenant's children by kind, then by name, each with the summary it last reported.

    `version` grows by one per change of any child, like an actor's own version.
    """

    tenant: str
    children: dict[str, dict[str, dict[str, Any]]]
    version: int = 0


_decode = msgspec.json.Decoder(Fleet).decode


def fleet_kinds() -> list[str]:
    """Every declared kind (in the `actors` package) whose tenant actors report to their fleet."""
    return [kind for kind, cls in discover().items() if cls.fleet]


class FleetActor(Actor):
    """`get(tenant)`: the tenant's actors of every fleet kind (or of the kinds given)."""

    kind = "fleet"
    _get = Operation("fleet_get.lua", mutating=False)

    async def get(self, tenant: str, kinds: tuple[str, ...] | None = None) -> Fleet:
        wanted = fleet_kinds() if kinds is None else list(kinds)
        return _decode(await self.call(self._get, scoped(tenant), (tenant, *wanted)))
