"""Caps on open SSE streams per worker and per client, so streams never take every request slot."""

from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from settings import Settings
from web.auth.guards import current_session

# A stream refused at a cap: when to try again (htmx's SSE extension retries by itself, backing off).
FULL_RETRY_AFTER_S = 5
FULL_MESSAGE = "Too many live updates are open right now; the page reconnects shortly."


def client_keys(ip: str, session_id: int | None) -> tuple[str, ...]:
    """What a client's streams are counted under: its address (an IPv6 client's whole /64, as one
    subscriber usually holds one) and, when signed in, its session."""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(ip)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        where = f"net:{ipaddress.IPv6Network((address, 64), strict=False)}"
    else:
        where = f"ip:{ip}"
    return (where,) if session_id is None else (where, f"session:{session_id}")


class StreamSlot:
    """One admitted stream. `release()` gives it back (once, however often called); so does dropping
    the slot unreleased, as a response that fails before its body starts does with its generator."""

    __slots__ = ("__weakref__", "_finalizer")

    def __init__(self, slots: StreamSlots, clients: tuple[str, ...]) -> None:
        self._finalizer = weakref.finalize(self, slots._give_back, clients)

    def release(self) -> None:
        self._finalizer()


@dataclass(eq=False)
class StreamSlots:
    """Counts this worker's open streams, in all and per client key (an IP, a session)."""

    per_worker: int
    per_client: int
    taken: int = 0
    _by_client: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: Settings) -> StreamSlots:
        return cls(per_worker=settings.max_streams_per_worker, per_client=settings.max_streams_per_client)

    def admit(self, request: Request[Any, Any, Any]) -> StreamSlot | None:
        """A slot for this request's client (its address, and its session when signed in), or None."""
        session = current_session(request)
        return self.take(
            client_keys(request.client.host if request.client else "unknown", session.id if session else None)
        )

    def take(self, clients: tuple[str, ...]) -> StreamSlot | None:
        """A slot for a stream of `clients`, or None when this worker or one of them is at its cap."""
        if self.taken >= self.per_worker:
            return None
        if any(self._by_client.get(client, 0) >= self.per_client for client in clients):
            return None
        self.taken += 1
        for client in clients:
            self._by_client[client] = self._by_client.get(client, 0) + 1
        return StreamSlot(self, clients)

    def _give_back(self, clients: tuple[str, ...]) -> None:
        self.taken -= 1
        for client in clients:
            left = self._by_client[client] - 1
            if left:
                self._by_client[client] = left
            else:
                del self._by_client[client]  # no entry per client ever seen: memory stays bounded
