"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging

from litestar import Request, get
from litestar.response import Response

from actors.durability import probe
from domain.db import ping as ping_database
from web.services import get_services

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 2.0


@get("/healthz", media_type="text/plain", tags=["probes"], cache=False)
async def healthz() -> str:
    """The process is alive and serving (no dependency checked)."""
    return "ok"


@get("/ping", media_type="text/plain", tags=["probes"], cache=False)
async def ping() -> str:
    """A route doing no work: the baseline the benchmarks compare real routes against."""
    return "pong"


@get("/readyz", tags=["probes"], cache=False)
async def readyz(request: Request) -> Response[dict[str, str]]:  # type: ignore[type-arg]
    """200 when the database answers and Redis runs an actor script, else 503 naming what is down."""
    services = get_services(request)

    async def check(name: str, probe: asyncio.Future[object] | object) -> tuple[str, str]:
        try:
            await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("readiness: %s is down: %s", name, exc)
            return name, f"down: {type(exc).__name__}"
        return name, "ok"

    results = dict(
        await asyncio.gather(
            check("database", ping_database(services.engine)),
            # A real actor script, not only PING: a Redis that answers but cannot run scripts is not ready.
            check("redis", probe(services.redis)),
        )
    )
    status = 200 if all(value == "ok" for value in results.values()) else 503
    return Response(results, status_code=status)
