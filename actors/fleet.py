"""FleetActor: a tenant's own actor, `org:{<tenant>}`, listing the tenant's actors of every fleet kind.

The fleet pattern: a parent that tracks its children. A kind declared `fleet = True` keeps its
tenant actors' entries in the parent's index from inside each of its own scripts (`report()` in the
prelude), so creating, changing or deleting a child and updating the index are
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

    async def clear(self, tenant: str) -> int:
        """Delete every key of every actor of `tenant` (children, this index, usage); returns how many.

        For a tenant that is gone (its organization deleted), so a new one reusing the name starts
        empty. Every such key is `actor:<kind>:org:{<tenant>}...` (one cluster slot); the SCAN walks the
        whole keyspace once (every node of a cluster), so this belongs to rare deletions only.
        """
        # The tenant alphabet has no glob characters, so the id is its own pattern.
        pattern = f"actor:*:{scoped(tenant)}*"
        deleted = 0
        batch: list[bytes] = []
        async for key in self.redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await self.redis.delete(*batch)
                batch.clear()
        if batch:
            deleted += await self.redis.delete(*batch)
        return deleted
