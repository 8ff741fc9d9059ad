"""Microseconds of app work per request, without a server or network: `python -m bench.counter_inprocess`.

The app runs in this process on the loop `serve` uses, with its embedded stack; requests are
plain ASGI calls (50 callers at a time, like the wrk runs), so the figures are the app's own
Python work per request: middleware, handler, actor call, rendering, with no server, network or
load generator sharing the CPU. That makes it the figure to watch when trimming the request path.
Each route prints wall and CPU µs: a shared machine moves wall time between runs minutes apart,
the thread's CPU time much less, so compare changes by the CPU column. Under
`py-spy record -p <pid>` the same loop shows where the time goes (`--profile ROUTE` keeps one
route running until interrupted).

A signed-in user is made the way a browser would (sign-up form, the mailed link, sign-in form),
through httpx's ASGI transport into the same app.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from litestar import Litestar  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.common import Row, http_scope, progress, run_on_app_loop  # noqa: E402
from domain.mail import dev_mail_dir, list_stored  # noqa: E402
from settings import Settings  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"
PASSWORD = "bench-Password-4711!"
CALLERS = 50
Message = dict[str, Any]


async def _lifespan(app: Litestar) -> Callable[[], Awaitable[None]]:
    """Run the app's start-up; return what runs its shutdown."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))  # type: ignore[arg-type]
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"app failed to start: {started}")

    async def shutdown() -> None:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task

    return shutdown


async def _mailed_link(data_dir: Path, email: str) -> str:
    for _ in range(200):
        for mail in list_stored(dev_mail_dir(data_dir)):
            match = re.search(r"https?://\S+token=\S+", mail.text) if mail.to == email else None
            if match:
                parts = urlsplit(match.group(0))
                return f"{parts.path}?{parts.query}"
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no link mailed to {email}")


async def _visitor_page(app: Litestar) -> bytes:
    """The bytes a new visitor's `GET /` answers: what the plain app's `/page` sends back unrendered."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.get("/")
        response.raise_for_status()
        return response.content


async def _sign_in(app: Litestar, data_dir: Path) -> tuple[bytes, bytes]:
    """A verified, signed-in user: (Cookie header, CSRF token)."""
    headers = {"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as client:
        email = "inprocess@example.com"
        await client.get("/auth/sign-up")
        form = {"name": "Bench", "email": email, "password": PASSWORD}
        await client.post("/auth/sign-up", data={**form, "_csrf_token": client.cookies["csrftoken"]})
        # The link, followed in the browser that signed up, signs it in.
        signed_in = await client.get(await _mailed_link(data_dir, email))
        if signed_in.status_code != 303:
            raise RuntimeError(f"sign-in failed: {signed_in.status_code}")
        await client.get("/")  # sign-in rotated the CSRF token; a page view hands out the new one
        client.cookies.delete("flash")
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return cookie.encode(), client.cookies["csrftoken"].encode()


class Route:
    """One request, repeated: a fresh scope each time, the body once, the status checked."""

    def __init__(self, app: Litestar, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.app, self.method, self.path, self.headers = app, method, path, headers

    async def once(self) -> None:
        delivered = False
        status: list[int] = []

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(http_scope(self.method, self.path, list(self.headers)), receive, send)  # type: ignore[arg-type]
        if status != [200]:
            raise RuntimeError(f"{self.method} {self.path} answered {status}")

    async def per_request_us(self, requests: int) -> tuple[float, float]:
        """Mean (wall, CPU) µs per request with CALLERS requests in flight.

        CPU is this thread's time: the app's own work, without the embedded Redis (another
        process) or the wait for its fsync; it moves less than wall time on a shared machine.
        """

        async def caller() -> None:
            for _ in range(requests // CALLERS):
                await self.once()

        started, cpu = time.perf_counter(), time.thread_time()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        done = requests // CALLERS * CALLERS
        return (time.perf_counter() - started) / done * 1e6, (time.thread_time() - cpu) / done * 1e6


async def _measure(requests: int, rounds: int, profile: str | None) -> dict[str, tuple[float, float]]:
    """Per route, the medians over `rounds` of (wall, CPU) µs per request."""
    from app import create_app
    from bench import counter_plain_app
    from web.heap import settle_heap
    from web.services import services_from_state

    data_dir = Path(tempfile.mkdtemp(prefix="rstack-inproc-", dir="/tmp"))
    # LOG_LEVEL=WARNING as in the served benchmarks: no access log line per request.
    settings = Settings(
        app_env="development", data_dir=data_dir, base_url=BASE_URL, log_level="WARNING"
    ).finalized()
    app = create_app(settings)
    shutdown = await _lifespan(app)
    try:
        cookie, csrf = await _sign_in(app, data_dir)
        # The bare Litestar app's routes need no start-up: /ping answers a string, /page fixed bytes.
        counter_plain_app.serve_page(await _visitor_page(app))
        # Its POST sends the same script through the app's own Redis client (same socket, same server).
        client = services_from_state(app.state).redis
        if not isinstance(client, Redis):  # the embedded server is never a cluster
            raise RuntimeError(f"expected the embedded Redis, got {type(client).__name__}")
        counter_plain_app.use_redis(client)
        await counter_plain_app.load_script()
        plain = counter_plain_app.app
        settle_heap()  # what a served worker does once started (app.py)
        routes = {
            "ping": Route(app, "GET", "/ping", []),
            "post": Route(
                app,
                "POST",
                "/counter/inprocess",
                [
                    (b"cookie", cookie),
                    (b"x-csrftoken", csrf),
                    (b"hx-request", b"true"),
                    (b"origin", BASE_URL.encode()),
                    (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", b"0"),
                ],
            ),
            "home": Route(app, "GET", "/", [(b"cookie", cookie)]),
            "visitor": Route(app, "GET", "/", []),  # a new visitor, as the served `GET /` rows measure
            "plain-post": Route(plain, "POST", "/counter/plain-inprocess", []),
            "plain-ping": Route(plain, "GET", "/ping", []),
            "plain-page": Route(plain, "GET", "/page", []),
        }
        for route in routes.values():  # warm: templates, pools, caches
            await route.per_request_us(500)
        if profile is not None:
            progress(f"looping {profile} for a profiler; Ctrl-C to stop")
            while True:
                await routes[profile].per_request_us(requests)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in routes}
        for n in range(1, rounds + 1):
            for name, route in routes.items():
                results[name].append(await route.per_request_us(requests))
            progress(
                f"round {n}/{rounds}: "
                + ", ".join(f"{k} {v[-1][0]:.0f} µs ({v[-1][1]:.0f} CPU)" for k, v in results.items())
            )
        return {
            name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in results.items()
        }
    finally:
        await shutdown()
        shutil.rmtree(data_dir, ignore_errors=True)


# What `_measure` times: the app's routes, then the bare Litestar app's (bench/counter_plain_app.py).
ROUTES = ("ping", "post", "home", "visitor", "plain-post", "plain-ping", "plain-page")
SECTION = (2.5, "in process")  # a section of `make bench` (bench/run.py), after the served HTTP rows
# The app's own work per signed-in POST, in this process's CPU µs (the Performance target).
POST_TARGET_US = 100


def _row(
    label: str, figure: tuple[float, float], baseline: str, ratio: float, note: str, target: int | None = None
) -> Row:
    wall, cpu = figure
    return Row(
        name=label,
        measured=f"{cpu:.0f} CPU µs per request ({wall:.0f} µs wall)",
        baseline=baseline,
        ratio=ratio,
        target="-" if target is None else f"<= {target} CPU µs",
        ok=None if target is None else cpu <= target,
        note=note,
    )


def rows(requests: int = 3000, rounds: int = 3) -> list[Row]:
    figures = run_on_app_loop(_measure(requests, rounds, None))
    ping_wall, ping_cpu = figures["ping"]
    made = [
        _row(
            label,
            figures[name],
            f"/ping {ping_cpu:.0f} CPU µs ({ping_wall:.0f} µs wall)",
            figures[name][1] / ping_cpu,
            f"ratio: CPU µs / /ping's; ASGI calls, {CALLERS} in flight, no server or socket; "
            f"medians of {rounds} rounds of {requests}",
            target,
        )
        for name, label, target in (
            ("post", "signed-in POST /counter/{id}, in process", POST_TARGET_US),
            ("home", "GET / (signed in), in process", None),
            ("visitor", "GET / (a new visitor, no cookie), in process", None),
        )
    ]
    for name, plain, label, note in (
        (
            "post",
            "plain-post",
            "signed-in POST /counter/{id} vs the bare Litestar POST, same script, in process",
            "the served POST row's work without server or socket; the bare POST has no session, "
            "CSRF, origin check, template or security headers",
        ),
        (
            "ping",
            "plain-ping",
            "/ping vs the bare Litestar app's /ping, in process",
            "what the edge adds to every request (request id, proxies, origin, session, CSRF, "
            "security headers, access log): a ceiling for every ratio against the bare app",
        ),
        (
            "visitor",
            "plain-page",
            "GET / (a new visitor) vs the bare Litestar route sending the same bytes, in process",
            "the served `GET /` row's work without server or socket; it does all /ping does and more",
        ),
    ):
        plain_wall, plain_cpu = figures[plain]
        made.append(
            _row(
                label,
                figures[name],
                f"bare {plain_cpu:.0f} CPU µs ({plain_wall:.0f} µs wall)",
                plain_cpu / figures[name][1],
                f"ratio: the bare route's CPU µs / this one's (as req/s would compare); {note}",
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per route per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=ROUTES, help="loop one route forever")
    args = parser.parse_args()
    try:
        figures = run_on_app_loop(_measure(args.requests, args.rounds, args.profile))
    except KeyboardInterrupt:  # how --profile ends; the app was shut down on the way out
        print("stopped", file=sys.stderr)
        raise SystemExit(130) from None
    ping, ping_cpu = figures["ping"]
    print("                                 wall µs per request   CPU µs (this thread)")
    for label, name in (
        ("GET /ping", "ping"),
        ("signed-in POST /counter/{id}", "post"),
        ("GET / (signed in)", "home"),
        ("GET / (new visitor)", "visitor"),
        ("bare Litestar POST (same script)", "plain-post"),
        ("bare Litestar /ping", "plain-ping"),
        ("bare Litestar /page (same bytes)", "plain-page"),
    ):
        wall, cpu = figures[name]
        versus = f"  ({wall / ping:.1f}x / {cpu / ping_cpu:.1f}x /ping)" if name != "ping" else ""
        print(f"{label:32s} {wall:6.0f} {cpu:18.0f}{versus}")


if __name__ == "__main__":
    main()
