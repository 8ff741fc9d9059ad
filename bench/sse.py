"""SSE fan-out benchmark: N concurrent streams on one counter, every change to every stream.

`python -m bench.sse [--streams N ...] [--changes C]` measures the app (`serve`, one worker) and,
in the same run, a bare ASGI SSE writer (bench/plain_sse_app.py) under the same granian settings.
All streams come from one address: the app's server gets MAX_STREAMS_PER_CLIENT (and, past its
default, MAX_STREAMS_PER_WORKER) raised to N. Both servers and this client inherit the open-file
limit raised here (printed with the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx

from bench.common import Row, Server, app_server, granian_server, progress, raise_fd_limit, run_on_app_loop
from bench.web_routes import sign_up_and_in
from settings import Settings

# Stream set-ups in flight at once: the server's accept queue (backlog 2,048) never overflows.
OPEN_BATCH = 500
TARGETS = {1000: (50.0, 250.0), 10000: (250.0, 500.0)}  # streams: (p99 ms, worker RSS MB)


@dataclass
class Arrivals:
    """Counts, per version, the streams still waiting for it; an event fires when none is left."""

    streams: int
    waiting: dict[int, int] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)

    def done(self, version: int) -> asyncio.Event:
        return self.complete.setdefault(version, asyncio.Event())

    def arrived(self, version: int) -> None:
        left = self.waiting.get(version, self.streams) - 1
        self.waiting[version] = left
        if left == 0:
            self.done(version).set()


class StreamClient(asyncio.Protocol):
    """One SSE stream on a bare socket: a protocol object, no task and no reader per stream, so the
    load generator (10,000 streams in one process) adds as little as it can to the figures."""

    def __init__(self, request: bytes, arrivals: Arrivals) -> None:
        self.request = request
        self.arrivals = arrivals
        self.received: dict[int, float] = {}
        self.order_ok = True
        self.last_id = -1
        self.status: bytes = b""
        self.pending = b""
        self.transport: asyncio.Transport | None = None
        self.headers_done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        *lines, self.pending = (self.pending + data).split(b"\n")
        for line in lines:
            if not self.status:
                self.status = line
                if b" 200 " not in line and not self.headers_done.done():
                    self.headers_done.set_exception(RuntimeError(f"stream refused: {line!r}"))
                continue
            if not self.headers_done.done():
                if line == b"\r":
                    self.headers_done.set_result(None)
                continue
            # Chunked framing lines and data lines are skipped; `id:` carries the actor version.
            if not line.startswith(b"id:"):
                continue
            try:
                version = int(line[3:].strip())
            except ValueError:
                continue
            if version <= self.last_id:
                self.order_ok = False
            self.last_id = version
            if version not in self.received:
                self.received[version] = now
                self.arrivals.arrived(version)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headers_done.done():
            self.headers_done.set_exception(RuntimeError(f"closed before the headers ({exc!r})"))


@dataclass
class Figures:
    p50: float
    p99: float
    worker_rss: float
    missing: int
    ordered: bool
    open_s: float

    @property
    def measured(self) -> str:
        return f"delivery p50 {self.p50:.1f} ms p99 {self.p99:.1f} ms, worker RSS {self.worker_rss:.0f} MB"


async def _measure(
    server: Server, path: str, streams_n: int, changes: int, change: Callable[[], Awaitable[int]]
) -> Figures:
    loop = asyncio.get_running_loop()
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n\r\n"
    ).encode()
    arrivals = Arrivals(streams_n)
    clients = [StreamClient(request, arrivals) for _ in range(streams_n)]
    started = time.perf_counter()
    for first in range(0, streams_n, OPEN_BATCH):
        batch = clients[first : first + OPEN_BATCH]
        await asyncio.gather(*(loop.create_connection(lambda c=c: c, host, port) for c in batch))  # type: ignore[misc]
        await asyncio.wait_for(asyncio.gather(*(c.headers_done for c in batch)), 120)
    # A new stream is sent the counter's current state (version 0 here) after its headers; the
    # first change is timed only once every stream has it, or it would wait behind the set-ups.
    await asyncio.wait_for(arrivals.done(0).wait(), 120)
    open_s = time.perf_counter() - started
    progress(f"{streams_n} SSE streams open in {open_s:.1f} s, each with the current state")
    sent_at: dict[int, float] = {}
    try:
        for _ in range(changes):
            t0 = time.perf_counter()
            version = await change()
            sent_at[version] = t0
            # Every stream has this change before the next, so each is timed alone.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrivals.done(version).wait(), 30)
        rss = server.rss_mb(workers_only=True)
    finally:
        for client in clients:
            if client.transport is not None:
                client.transport.close()
    delays: list[float] = []
    missing = 0
    for client in clients:
        for version, t0 in sent_at.items():
            got = client.received.get(version)
            if got is None:
                missing += 1
            else:
                delays.append((got - t0) * 1000)
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p99 = delays[int(len(delays) * 0.99) - 1] if delays else float("nan")
    return Figures(p50, p99, rss, missing, all(c.order_ok for c in clients), open_s)


async def _measure_app(server: Server, streams_n: int, changes: int) -> Figures:
    counter_id = f"sse-{uuid.uuid4().hex[:8]}"
    user = sign_up_and_in(server)
    headers = {
        "Cookie": user.cookie_header,
        "X-CSRFToken": user.csrf_token,
        "Origin": server.base_url,
        "Sec-Fetch-Site": "same-origin",
        "Accept": "application/json",
    }
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as client:

        async def change() -> int:
            response = await client.post(f"/counter/{counter_id}")
            response.raise_for_status()
            return int(response.json()["count"])

        return await _measure(server, f"/counter/{counter_id}/events", streams_n, changes, change)


async def _measure_bare(server: Server, streams_n: int, changes: int) -> Figures:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:

        async def change() -> int:
            response = await client.post("/bump")
            response.raise_for_status()
            return int(response.json()["count"])

        return await _measure(server, "/events", streams_n, changes, change)


@contextmanager
def bare_server(streams_n: int) -> Iterator[Server]:
    from cli import FREE_REQUESTS_PER_WORKER

    data_dir = Path(tempfile.mkdtemp(prefix="rstack-bare-sse-"))
    try:
        backpressure = streams_n + FREE_REQUESTS_PER_WORKER
        with granian_server("bench.plain_sse_app:app", data_dir, backpressure=backpressure) as server:
            yield server
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(streams: tuple[int, ...] = (1000, 10000), changes: int = 20) -> list[Row]:
    fd_limit = raise_fd_limit()
    rows: list[Row] = []
    for streams_n in streams:
        progress(f"SSE benchmark: {streams_n} streams, {changes} changes, open-file limit {fd_limit}")
        # The load generator shares the two cores with the server, on the loop `serve` uses.
        with bare_server(streams_n) as server:
            bare = run_on_app_loop(_measure_bare(server, streams_n, changes))
        # Every stream comes from one address and one session: the per-client cap must let them all in.
        env = {
            "MAX_STREAMS_PER_CLIENT": str(streams_n),
            "MAX_STREAMS_PER_WORKER": str(max(streams_n, Settings().max_streams_per_worker)),
        }
        with app_server(workers=1, env=env) as server:
            app = run_on_app_loop(_measure_app(server, streams_n, changes))
        p99_target, rss_target = TARGETS.get(streams_n, (float("inf"), float("inf")))
        ok = app.missing == 0 and app.ordered and app.p99 <= p99_target and app.worker_rss <= rss_target
        rows.append(
            Row(
                name=f"SSE: {streams_n} streams x {changes} changes on one process",
                measured=app.measured,
                baseline=f"bare ASGI writer: {bare.measured}",
                ratio=app.p99 / bare.p99 if bare.p99 else None,
                target=(
                    f"p99 <= {p99_target:.0f} ms, worker RSS <= {rss_target:.0f} MB"
                    if streams_n in TARGETS
                    else "-"
                ),
                ok=ok if streams_n in TARGETS else None,
                note=(
                    f"ratio: p99 / the bare writer's p99; {app.missing} deliveries missing (bare:"
                    f" {bare.missing}), order {'kept' if app.ordered else 'BROKEN'}; streams opened in"
                    f" {app.open_s:.1f} s (bare: {bare.open_s:.1f} s); open-file limit {fd_limit}"
                ),
            )
        )
    return rows


def main() -> None:
    import os

    from bench.common import print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, nargs="+", default=[1000], help="stream counts to measure")
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = run(tuple(args.streams), args.changes)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print_table(rows)


if __name__ == "__main__":
    main()
