"""CPU µs per stream to fan one change out, in process: `python -m bench.counter_sse_inprocess [--streams N]`.

The app runs in this process with its embedded stack, as a served worker is set up (`settle_heap`);
N streams of one counter are plain ASGI calls whose `send` only notes which version arrived. Each
change is timed from the increment until every stream has been handed it, in the process's CPU
time, so neither a server nor a client shares the figure (`bench.counter_sse` measures those, on a
socket). The bare ASGI writer (`bench/counter_plain_sse_app.py`) is measured the same way in the
same run: the app's figure over it is what the app's stream path costs beyond the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import counter_plain_sse_app as bare  # noqa: E402
from bench.common import Row, http_scope, progress, run_on_app_loop  # noqa: E402
from bench.counter_inprocess import BASE_URL, _lifespan  # noqa: E402
from settings import Settings  # noqa: E402

Message = dict[str, Any]
ASGI = Callable[[Any, Any, Any], Awaitable[None]]


class Arrivals:
    """How many streams have been sent the version being waited for."""

    def __init__(self, streams: int) -> None:
        self.streams = streams
        self.version = 0
        self.count = 0
        self.all_in = asyncio.Event()

    def expect(self, version: int) -> None:
        self.version, self.count = version, 0
        self.all_in.clear()

    def sent(self, body: bytes) -> None:
        # Every message starts with its `id:` line; heartbeats and the hello carry none.
        if body.startswith(b"id: ") and int(body[4 : body.index(b"\r")]) == self.version:
            self.count += 1
            if self.count == self.streams:
                self.all_in.set()


async def _stream(app: ASGI, path: str, arrivals: Arrivals) -> None:
    """One SSE request; it stays open until cancelled (the client never leaves)."""
    sent_request = False
    stay = asyncio.get_running_loop().create_future()

    async def receive() -> Message:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await stay
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            arrivals.sent(message.get("body", b""))

    await app(http_scope("GET", path, [(b"accept", b"text/event-stream")]), receive, send)


async def _all_in(arrivals: Arrivals, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(arrivals.all_in.wait(), timeout_s)
    except TimeoutError:
        raise RuntimeError(
            f"after {timeout_s:.0f} s, {arrivals.count} of {arrivals.streams} streams had version "
            f"{arrivals.version}"
        ) from None


async def _fan_out(
    app: ASGI, path: str, streams: int, changes: int, change: Callable[[], Awaitable[int]]
) -> float:
    """Median CPU µs per stream for one change, over `changes` changes."""
    arrivals = Arrivals(streams)
    arrivals.expect(await change())  # every stream opens on this state
    tasks = [asyncio.create_task(_stream(app, path, arrivals)) for _ in range(streams)]
    try:
        await _all_in(arrivals, 120)
        per_stream: list[float] = []
        for _ in range(changes):
            arrivals.expect(arrivals.version + 1)
            started = time.process_time()
            if await change() != arrivals.version:
                raise RuntimeError("another change came in between")
            await _all_in(arrivals, 60)
            per_stream.append((time.process_time() - started) / streams * 1e6)
        return statistics.median(per_stream)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measure(streams: int, changes: int) -> dict[str, float]:
    """{"app": µs, "bare": µs} per stream per change."""
    from actors.counter import CounterActor
    from app import create_app
    from web.heap import settle_heap

    data_dir = Path(tempfile.mkdtemp(prefix="rstack-sse-inproc-", dir="/tmp"))
    settings = Settings(
        app_env="development",
        data_dir=data_dir,
        base_url=BASE_URL,
        log_level="WARNING",
        max_streams_per_client=streams,
        max_streams_per_worker=streams,
    ).finalized()
    app = create_app(settings)
    shutdown = await _lifespan(app)
    try:
        settle_heap()  # what a served worker does once started (app.py)
        counter = app.state.services.actor(CounterActor)

        async def increment() -> int:
            version: int = (await counter.increment("sse-inprocess")).version
            return version

        async def bump() -> int:
            return bare.broadcast.bump()

        progress(f"app: {streams} streams x {changes} changes")
        app_us = await _fan_out(app, "/counter/sse-inprocess/events", streams, changes, increment)  # type: ignore[arg-type]
        progress(f"bare ASGI writer: {streams} streams x {changes} changes")
        bare_us = await _fan_out(bare.app, "/events", streams, changes, bump)
        return {"app": app_us, "bare": bare_us}
    finally:
        await shutdown()
        shutil.rmtree(data_dir, ignore_errors=True)


SECTION = (3.5, "sse in process")  # a section of `make bench` (bench/run.py), after the served SSE rows


def rows(streams: int = 10_000, changes: int = 20) -> list[Row]:
    figures = run_on_app_loop(measure(streams, changes))
    return [
        Row(
            name=f"SSE fan-out in process: {streams} streams x {changes} changes",
            measured=f"{figures['app']:.1f} CPU µs per stream per change",
            baseline=f"bare ASGI writer {figures['bare']:.1f} µs",
            ratio=figures["app"] / figures["bare"],
            target="-",
            ok=None,
            note="ratio: the app's CPU per stream / the bare writer's; no server or socket",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    figures = run_on_app_loop(measure(args.streams, args.changes))
    print(f"app              {figures['app']:5.1f} CPU µs per stream per change ({args.streams} streams)")
    print(f"bare ASGI writer {figures['bare']:5.1f} CPU µs per stream per change")
    print(f"app / bare       {figures['app'] / figures['bare']:5.2f}")


if __name__ == "__main__":
    main()
