"""Soak run (`python -m bench.counter_soak`): minutes of POSTs, page loads and SSE churn; RSS, leftovers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field

import httpx

from bench.common import Server, app_server, progress, run_on_app_loop
from bench.counter_web_routes import SignedIn, sign_up_and_in

REPORT_EVERY_S = 10.0
COUNTERS = 8  # streams and POSTs spread over a few counters, so events reach open streams
HOLD_S = (0.05, 1.0)  # how long a churned stream stays open before it is dropped


@dataclass
class Tally:
    streams: int = 0
    resets: int = 0
    refused: int = 0  # stream answers other than 200 (a cap reached)
    posts: int = 0
    pages: int = 0
    errors: int = 0
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (s, worker MB, listeners)


def drop(writer: asyncio.StreamWriter, reset: bool) -> None:
    """Close the connection; with `reset`, as a crashed client or lost network does (RST, no FIN)."""
    sock = writer.get_extra_info("socket")
    if reset and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if reset:
        writer.transport.abort()
    else:
        writer.close()


async def churn(host: str, port: int, source: str, tally: Tally, until: float) -> None:
    """Open a stream, read its first state, hold it a moment, drop it (3 in 4 by reset); repeat."""
    rng = random.Random(source)
    while time.monotonic() < until:
        counter = f"soak-{rng.randrange(COUNTERS)}"
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        except OSError:
            tally.errors += 1
            continue
        try:
            writer.write(
                f"GET /counter/{counter}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            status = await asyncio.wait_for(reader.readline(), 10)
            tally.streams += 1
            if b" 200 " not in status:
                tally.refused += 1
                await asyncio.sleep(1)
                continue
            while b"id:" not in await asyncio.wait_for(reader.readline(), 10):
                pass  # headers, the retry hint, then the counter's current state
            await asyncio.sleep(rng.uniform(*HOLD_S))
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            tally.errors += 1
        finally:
            reset = rng.random() < 0.75
            tally.resets += reset
            drop(writer, reset)


async def post_loop(client: httpx.AsyncClient, rate: float, tally: Tally, until: float) -> None:
    """Signed-in increments at `rate` per second (JSON answers), round the counters."""
    n = 0
    started = time.monotonic()
    while time.monotonic() < until:
        try:
            response = await client.post(
                f"/counter/soak-{n % COUNTERS}", headers={"Accept": "application/json"}
            )
            if response.status_code == 200:
                tally.posts += 1
            else:
                tally.errors += 1
        except httpx.HTTPError:
            tally.errors += 1
        n += 1
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))


async def page_loop(client: httpx.AsyncClient, rate: float, tally: Tally, until: float) -> None:
    """Signed-in page loads at `rate` per second."""
    n = 0
    started = time.monotonic()
    while time.monotonic() < until:
        try:
            response = await client.get("/")
            if response.status_code == 200:
                tally.pages += 1
            else:
                tally.errors += 1
        except httpx.HTTPError:
            tally.errors += 1
        n += 1
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))


def live_status(server: Server) -> dict[str, int]:
    body: dict[str, int] = httpx.get(server.base_url + "/dev/live", timeout=5).json()
    return body


async def report(server: Server, tally: Tally, started: float, until: float) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(min(REPORT_EVERY_S, max(0.0, until - time.monotonic())))
        elapsed = time.monotonic() - started
        rss = server.rss_mb(workers_only=True)
        listeners = (await asyncio.to_thread(live_status, server))["listeners"]
        tally.samples.append((elapsed, rss, listeners))
        print(
            f"{elapsed:6.0f} s  worker RSS {rss:7.1f} MB  streams {tally.streams:7,} "
            f"(reset {tally.resets:,}, refused {tally.refused:,})  POSTs {tally.posts:6,}  "
            f"pages {tally.pages:6,}  errors {tally.errors:,}  listeners now {listeners:,}",
            flush=True,
        )


async def soak(server: Server, user: SignedIn, seconds: float, streams: int, rate: float) -> Tally:
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    headers = {
        "Cookie": user.cookie_header,
        "X-CSRFToken": user.csrf_token,
        "Origin": server.base_url,
        "Sec-Fetch-Site": "same-origin",
    }
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, timeout=10, limits=limits
    ) as client:
        # Each churner has its own loopback address: one visitor each, as the per-client cap sees it.
        sources = [f"127.0.{9 + i // 250}.{i % 250 + 1}" for i in range(streams)]
        await asyncio.gather(
            report(server, tally, started, until),
            post_loop(client, rate, tally, until),
            page_loop(client, rate / 2, tally, until),
            *(churn(host, port, source, tally, until) for source in sources),
        )
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.counter_soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120, help="how long the load runs (default 120)")
    parser.add_argument("--streams", type=int, default=50, help="streams churned at once (default 50)")
    parser.add_argument("--rate", type=float, default=40, help="POSTs per second; page loads half that")
    args = parser.parse_args()
    progress(f"starting the app (serve, 1 worker) for a {args.seconds:.0f} s soak")
    with app_server(workers=1) as server:
        user = sign_up_and_in(server, f"soak-{uuid.uuid4().hex[:8]}@example.com")
        rss_start = server.rss_mb(workers_only=True)
        print(f"     0 s  worker RSS {rss_start:7.1f} MB", flush=True)
        tally = run_on_app_loop(soak(server, user, args.seconds, args.streams, args.rate))
        deadline = time.monotonic() + 10
        status = live_status(server)
        while status["listeners"] and time.monotonic() < deadline:
            time.sleep(0.1)
            status = live_status(server)
        rss_end = server.rss_mb(workers_only=True)
    # Growth after the first sample: start-up and the first minutes' caches are not a leak.
    first_s, first_mb, _ = tally.samples[0] if tally.samples else (0.0, rss_start, 0)
    minutes = (args.seconds - first_s) / 60
    per_minute = (rss_end - first_mb) / minutes if minutes > 0 else 0.0
    print(
        f"after {args.seconds:.0f} s: {tally.streams:,} streams ({tally.resets:,} reset, {tally.refused:,} "
        f"refused), {tally.posts:,} POSTs, {tally.pages:,} page loads, {tally.errors:,} errors"
    )
    print(
        f"listeners after: {status['listeners']} (open streams {status['open_streams']}, "
        f"stream slots {status.get('stream_slots', 0)}, tasks {status['tasks']})"
    )
    print(
        f"worker RSS: {rss_start:.1f} MB at start, {first_mb:.1f} MB at {first_s:.0f} s, {rss_end:.1f} MB "
        f"at the end ({per_minute:+.2f} MB/min after {first_s:.0f} s)"
    )


if __name__ == "__main__":
    main()
