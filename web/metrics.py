"""Prometheus metrics (off unless METRICS_ENABLED): requests, latency, actor calls and alarms, SSE streams.

With several worker processes, PROMETHEUS_MULTIPROC_DIR must name an empty directory before
prometheus_client is first imported (`python app.py serve` sets it when metrics are on), so that
`/metrics` on any worker reports the sum over all of them.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from litestar import get
from litestar.enums import ScopeType
from litestar.response import Response
from litestar.types import ASGIApp, ControllerRouterHandler, Message, Receive, Scope, Send

from actors.alarm_store import AlarmCounts
from actors.alarms import AlarmScheduler
from actors.connection import RedisClient
from actors.scripts import Script, runner_for
from settings import Settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
EXCLUDED_ROUTES = frozenset({"/metrics"})


@dataclass(frozen=True)
class Instruments:
    """The app's metrics, in prometheus_client's default registry."""

    requests_total: Counter
    request_duration: Histogram
    requests_in_progress: Gauge
    sse_streams_open: Gauge
    actor_calls: Counter
    alarms: Gauge
    alarm_runs: Counter
    alarm_lateness: Histogram


@functools.cache
def instruments() -> Instruments:
    """Created on first use, inside the worker process.

    prometheus_client picks multiprocess mode when it is first imported, and `python app.py serve`
    imports this module in the parent before setting PROMETHEUS_MULTIPROC_DIR and forking workers:
    so nothing here imports prometheus_client at module level.
    """
    from prometheus_client import Counter, Gauge, Histogram

    return Instruments(
        requests_total=Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
        ),
        request_duration=Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the response (SSE streams excluded).",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        ),
        requests_in_progress=Gauge(
            "http_requests_in_progress", "Requests being served right now.", multiprocess_mode="livesum"
        ),
        sse_streams_open=Gauge(
            "sse_streams_open", "Server-sent event streams currently open.", multiprocess_mode="livesum"
        ),
        actor_calls=Counter(
            "actor_calls_total",
            "Actor operations run (one Lua script each), by outcome.",
            ["kind", "op", "outcome"],
        ),
        # Every process reads the same shared index, so the workers' values agree: report the largest.
        alarms=Gauge(
            "actor_alarms",
            "Actor alarms in the index, by state (scheduled, due, running, retrying, dead).",
            ["state"],
            multiprocess_mode="livemax",
        ),
        alarm_runs=Counter(
            "actor_alarm_runs_total",
            "Actor alarm handler runs, by kind and outcome (ok, retry, dead, requeue, done, stale).",
            ["kind", "outcome"],
        ),
        alarm_lateness=Histogram(
            "actor_alarm_lateness_seconds",
            "Time from an alarm's due time (or retry time) to its handler starting.",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        ),
    )


def count_actor_call(kind: str, op: str, outcome: str = "ok") -> None:
    """Count one actor operation; other modules may call this for calls not made through `ScriptRunner`."""
    instruments().actor_calls.labels(kind, op, outcome).inc()


def _count_script(script: Script, outcome: str) -> None:
    # Labels come from the Actor class that declared the script, not from its file name.
    count_actor_call(script.kind or "script", script.op or script.name, outcome)


def instrument_actor_calls(redis: RedisClient) -> None:
    """Count every script run through `redis`'s shared runner (all actors of the process use it)."""
    observers = runner_for(redis).observers
    if _count_script not in observers:
        observers.append(_count_script)


def _count_alarm_run(kind: str, lateness: float, outcome: str) -> None:
    metrics = instruments()
    metrics.alarm_runs.labels(kind, outcome).inc()
    metrics.alarm_lateness.labels(kind).observe(lateness)


def _set_alarm_counts(counts: AlarmCounts) -> None:
    gauge = instruments().alarms
    for state in ("scheduled", "due", "running", "retrying", "dead"):
        gauge.labels(state).set(getattr(counts, state))


def instrument_alarms(scheduler: AlarmScheduler) -> None:
    """Count `scheduler`'s alarm runs and their lateness, and publish the index sizes it reads."""
    if _count_alarm_run not in scheduler.fire_observers:
        scheduler.fire_observers.append(_count_alarm_run)
        scheduler.count_observers.append(_set_alarm_counts)


def route_of(scope: Scope) -> str:
    """The route template the request matched, the label of its metrics."""
    template = scope.get("path_template")  # type: ignore[misc]
    return template if isinstance(template, str) and template else UNMATCHED


def _is_event_stream(message: Message) -> bool:
    headers = cast("Iterable[tuple[bytes, bytes]]", message.get("headers", ()))
    for name, value in headers:
        if name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
            return True
    return False


def stream_opened(metrics: Instruments, start: Message) -> bool:
    """Whether the response `start` opens an SSE stream (then counted as open until it ends)."""
    if _is_event_stream(start):
        metrics.sse_streams_open.inc()
        return True
    return False


def request_ended(
    metrics: Instruments, method: str, route: str, status: int, started: float, streaming: bool
) -> None:
    """Count a request that began at perf_counter() `started` (its in-progress count went up then)."""
    metrics.requests_in_progress.dec()
    if streaming:
        metrics.sse_streams_open.dec()
    else:
        metrics.request_duration.labels(method, route).observe(time.perf_counter() - started)
    metrics.requests_total.labels(method, route, str(status)).inc()


class MetricsMiddleware:
    """Metrics alone, for apps without web/edge.py (tests compose it so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        route = route_of(scope)
        if route in EXCLUDED_ROUTES:
            await self.app(scope, receive, send)
            return
        metrics = instruments()
        started = time.perf_counter()
        status = 500
        streaming = False

        async def measured_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                streaming = stream_opened(metrics, message)
            await send(message)

        metrics.requests_in_progress.inc()
        try:
            await self.app(scope, receive, measured_send)
        except BaseException as exc:
            status = getattr(exc, "status_code", 500) if status == 500 else status
            raise
        finally:
            request_ended(metrics, scope.get("method", "GET"), route, status, started, streaming)


def exposition() -> bytes:
    """The metrics in Prometheus text format: this process's, or every worker's in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    instruments()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@get("/metrics", tags=["probes"], cache=False, sync_to_thread=False)
def metrics_endpoint() -> Response[bytes]:
    """Prometheus scrape target; enabled by METRICS_ENABLED (restrict who reaches it at the proxy)."""
    return Response(exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def route_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """`[/metrics]` when metrics are enabled, else nothing (the path then answers 404)."""
    return [metrics_endpoint] if settings.metrics_enabled else []
