"""SSE fan-out benchmark: N concurrent streams on one counter, every change to every stream."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from dataclasses import dataclass, field

import httpx

from bench.common import Row, Server, app_server, progress, raise_fd_limit, run_on_app_loop
from bench.counter_web_routes import sign_up_and_in


@dataclass
class Stream:
    received: dict[int, float] = field(default_factory=dict)
    order_ok: bool = True
    last_id: int = -1
    connected: asyncio.Event = field(default_factory=asyncio.Event)


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


async def _open_stream(
    host: str, port: int, path: str, stream: Stream, arrivals: Arrivals, stop: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # response headers
        stream.connected.set()
        # Whole reads, split here: one await per arrival rather than one per line keeps this
        # load generator (1,000 streams in one process) from adding its own delay to the figures.
        pending = b""
        while not stop.is_set():
            data = await reader.read(65536)
            if not data:
                return
            now = time.perf_counter()
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                # Chunked framing lines and data lines are skipped; `id:` carries the actor version.
                if not line.startswith(b"id:"):
                    continue
                try:
                    version = int(line[3:].strip())
                except ValueError:
                    continue
                if version <= stream.last_id:
                    stream.order_ok = False
                stream.last_id = version
                if version not in stream.received:
                    stream.received[version] = now
                    arrivals.arrived(version)
    finally:
        writer.close()


async def _measure(
    server: Server, streams_n: int, changes: int
) -> tuple[list[float], int, bool, tuple[float, float]]:
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    counter_id = f"sse-{uuid.uuid4().hex[:8]}"
    user = sign_up_and_in(server)
    stop = asyncio.Event()
    streams = [Stream() for _ in range(streams_n)]
    arrivals = Arrivals(streams_n)
    tasks = []
    for i, stream in enumerate(streams):
        path = f"/counter/{counter_id}/events"
        tasks.append(asyncio.create_task(_open_stream(host, port, path, stream, arrivals, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the server accept in batches rather than a SYN flood
    await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), timeout=60)
    # A new stream is sent the counter's current state (version 0 here) after its headers; the
    # first change is timed only once every stream has it, or it would wait behind 1,000 set-ups.
    await asyncio.wait_for(arrivals.done(0).wait(), timeout=60)
    progress(f"{streams_n} SSE streams open, each with the current state")
    sent_at: dict[int, float] = {}
    headers = {
        "Cookie": user.cookie_header,
        "X-CSRFToken": user.csrf_token,
        "Origin": server.base_url,
        "Sec-Fetch-Site": "same-origin",
    }
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as client:
        for _ in range(changes):
            t0 = time.perf_counter()
            response = await client.post(f"/counter/{counter_id}", headers={"Accept": "application/json"})
            response.raise_for_status()
            sent_at[int(response.json()["count"])] = t0
            # Wait until every stream has this change before the next, so each is timed alone.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrivals.done(int(response.json()["count"])).wait(), 10)
    rss = (server.rss_mb(workers_only=True), server.rss_mb())
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays: list[float] = []
    missing = 0
    for stream in streams:
        for version, t0 in sent_at.items():
            got = stream.received.get(version)
            if got is None:
                missing += 1
            else:
                delays.append((got - t0) * 1000)
    return delays, missing, all(s.order_ok for s in streams), rss


SECTION = (3, "sse")  # a section of `make bench` (bench/run.py)


def rows() -> list[Row]:
    return run()


def run(streams_n: int = 1000, changes: int = 20) -> list[Row]:
    raise_fd_limit()
    progress(f"starting app for SSE benchmark ({streams_n} streams, {changes} changes)")
    # The load generator shares the two cores with the server: on asyncio's own loop its reading
    # of 1,000 sockets per change doubled the delivery p50 it measured.
    # Every stream comes from one address and one session: the per-client cap must let them all in.
    with app_server(workers=1, env={"MAX_STREAMS_PER_CLIENT": str(streams_n)}) as server:
        delays, missing, ordered, rss = run_on_app_loop(_measure(server, streams_n, changes))
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p99 = delays[int(len(delays) * 0.99) - 1] if delays else float("nan")
    ok = missing == 0 and ordered and p99 <= 100 and rss[0] <= 250
    return [
        Row(
            name=f"SSE: {streams_n} streams x {changes} changes on one process",
            measured=(
                f"delivery p50 {p50:.1f} ms p99 {p99:.1f} ms, worker RSS {rss[0]:.0f} MB"
                f" (+ supervisor = {rss[1]:.0f} MB)"
            ),
            baseline="-",
            ratio=None,
            target="p99 <= 100 ms, worker RSS <= 250 MB",
            ok=ok,
            note=f"{missing} deliveries missing, order {'kept' if ordered else 'BROKEN'}",
        )
    ]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
