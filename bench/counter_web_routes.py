"""HTTP benchmarks on the real server: hot routes against a bare /ping, start-up time, sign-in load."""

from __future__ import annotations

import multiprocessing
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx

from bench.common import Row, Server, WrkResult, app_server, plain_server, progress, wrk

PASSWORD = "bench-Password-4711!"


@dataclass
class SignedIn:
    cookie_header: str
    csrf_token: str


def _mail_body(message: Message) -> str:
    if message.is_multipart():
        return "".join(_mail_body(part) for part in message.get_payload() if isinstance(part, Message))
    payload = message.get_payload(decode=True)
    return payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)


def _find_link(data_dir: Path, email: str, path: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for eml in sorted((data_dir / "mail").glob("*.eml")):
            message = message_from_bytes(eml.read_bytes())
            if email in str(message["To"]):
                match = re.search(
                    rf"https?://[^\s\"<>]+{re.escape(path)}\?token=[\w\-.~%]+", _mail_body(message)
                )
                if match:
                    return match.group(0)
        time.sleep(0.05)
    raise RuntimeError(f"no {path} link mailed to {email}")


def _csrf(client: httpx.Client, path: str) -> str:
    client.get(path)
    return client.cookies.get("csrftoken") or ""


def sign_up_and_in(server: Server, email: str | None = None) -> SignedIn:
    """A verified, signed-in user over real HTTP, as a browser without JavaScript would do it."""
    email = email or f"bench-{uuid.uuid4().hex[:10]}@example.com"
    headers = {"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"}
    with httpx.Client(
        base_url=server.base_url, headers=headers, follow_redirects=False, timeout=10
    ) as client:
        token = _csrf(client, "/auth/sign-up")
        form = {"name": "Bench", "email": email, "password": PASSWORD, "_csrf_token": token}
        response = client.post("/auth/sign-up", data=form)
        assert response.status_code in (200, 303), response.text[:500]
        link = _find_link(server.data_dir, email, "/auth/verify")
        client.get(link.replace(link.split("/auth/")[0], server.base_url))
        token = _csrf(client, "/auth/sign-in")
        response = client.post(
            "/auth/sign-in", data={"email": email, "password": PASSWORD, "_csrf_token": token}
        )
        assert response.status_code == 303, f"sign-in failed: {response.status_code} {response.text[:300]}"
        # Sign-in rotates the CSRF token: a page view hands out the new one.
        client.get("/")
        client.cookies.delete("flash")
        cookie_header = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return SignedIn(cookie_header, client.cookies.get("csrftoken") or token)


WRK_POST = """
wrk.method = "POST"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["X-CSRFToken"] = os.getenv("BENCH_CSRF")
wrk.headers["HX-Request"] = "true"
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = ""
"""


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass
class Rounds:
    """One route measured in every round; ratios pair each round's figure with that round's /ping."""

    results: list[WrkResult]

    @property
    def requests_per_s(self) -> float:
        return _median([r.requests_per_s for r in self.results])

    @property
    def p50_ms(self) -> float:
        return _median([r.p50_ms for r in self.results])

    @property
    def p99_ms(self) -> float:
        return _median([r.p99_ms for r in self.results])

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    def ratios_to(self, baseline: Rounds) -> list[float]:
        return [
            mine.requests_per_s / base.requests_per_s if base.requests_per_s else 0.0
            for mine, base in zip(self.results, baseline.results, strict=True)
        ]


def ratio_row(
    name: str,
    measured: Rounds,
    baseline: Rounds,
    target: float | None,
    note: str = "",
    baseline_name: str = "/ping",
) -> Row:
    ratios = measured.ratios_to(baseline)
    ratio = _median(ratios)
    spread = f"rounds {', '.join(f'{r:.2f}' for r in ratios)}"
    return Row(
        name=name,
        measured=(
            f"{measured.requests_per_s:,.0f} req/s p50 {measured.p50_ms:.1f} ms p99 {measured.p99_ms:.1f} ms"
        ),
        baseline=f"{baseline_name} {baseline.requests_per_s:,.0f} req/s p99 {baseline.p99_ms:.1f} ms",
        ratio=ratio,
        target="-" if target is None else f">= {target}",
        ok=None if target is None else (ratio >= target and measured.errors == 0),
        note="; ".join(
            part for part in (note, spread, f"{measured.errors} errors" if measured.errors else "") if part
        ),
    )


def _sign_in_loop(base_url: str, email: str, rate: float, duration_s: float) -> None:
    """Run in its own process: `rate` sign-ins per second (right password) for `duration_s`."""
    headers = {"Origin": base_url, "Sec-Fetch-Site": "same-origin"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        token = _csrf(client, "/auth/sign-in")
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < duration_s:
            due = start + sent / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            client.post(
                "/auth/sign-in",
                data={"email": email, "password": PASSWORD, "_csrf_token": token},
                follow_redirects=False,
            )
            sent += 1


SECTION = (2, "http")  # a section of `make bench` (bench/run.py)


def rows() -> list[Row]:
    return run()


@contextmanager
def with_plain_app(server: Server, redis_url: str | None = None) -> Iterator[Server]:
    """The plain Litestar app, its `GET /page` serving the bytes `server` answered `GET /` with now."""
    with tempfile.TemporaryDirectory(prefix="rstack-page-") as folder:
        page = Path(folder) / "home.html"
        response = httpx.get(server.base_url + "/", timeout=10)
        response.raise_for_status()
        page.write_bytes(response.content)
        with plain_server(
            "bench.counter_plain_app:app", env={"PLAIN_PAGE_FILE": str(page)}, redis_url=redis_url
        ) as plain:
            yield plain


def measure_routes(server: Server, plain: Server, rounds: int, round_s: int) -> dict[str, Rounds]:
    """/ping, the signed-in counter POST, GET /, the plain POST and the plain pre-rendered page take
    turns for `rounds` short wrk runs each: on a noisy machine a route and its baseline are then
    measured at most seconds apart, and each ratio is the median of the per-round ratios."""
    user = sign_up_and_in(server)
    with tempfile.TemporaryDirectory(prefix="rstack-wrk-") as folder:
        script, plain_script = Path(folder) / "post.lua", Path(folder) / "plain.lua"
        script.write_text(WRK_POST)
        plain_script.write_text('wrk.method = "POST"\n')
        env = {
            "BENCH_COOKIE": user.cookie_header,
            "BENCH_CSRF": user.csrf_token,
            "BENCH_ORIGIN": server.base_url,
        }
        runs: dict[str, tuple[str, Path | None, dict[str, str] | None]] = {
            "/ping": (server.base_url + "/ping", None, None),
            "POST /counter": (server.base_url + f"/counter/bench-{uuid.uuid4().hex[:8]}", script, env),
            "GET /": (server.base_url + "/", None, None),
            "plain POST": (plain.base_url + f"/counter/plain-{uuid.uuid4().hex[:8]}", plain_script, None),
            "plain page": (plain.base_url + "/page", None, None),
        }
        for url, lua, lua_env in runs.values():  # warm: templates, pools, caches
            wrk(url, connections=50, duration_s=1, script=lua, env=lua_env)
        measured = {name: Rounds([]) for name in runs}
        for n in range(1, rounds + 1):
            for name, (url, lua, lua_env) in runs.items():
                measured[name].results.append(
                    wrk(url, connections=50, duration_s=round_s, script=lua, env=lua_env)
                )
            progress(
                f"round {n}/{rounds}: "
                + ", ".join(f"{name} {m.results[-1].requests_per_s:,.0f}" for name, m in measured.items())
                + " req/s"
            )
        return measured


def route_rows(measured: dict[str, Rounds], *, where: str = "", targets: bool = True) -> list[Row]:
    """The table's rows for `measure_routes`' figures; `where` names a non-default setup."""
    suffix = f" [{where}]" if where else ""
    ping, post, home = measured["/ping"], measured["POST /counter"], measured["GET /"]
    plain, page = measured["plain POST"], measured["plain page"]
    row = ratio_row(
        "signed-in POST /counter/{id} (htmx, CSRF, session)" + suffix, post, ping, 0.5 if targets else None
    )
    if targets:
        row.target += ", p99 <= 25 ms"
        row.ok = bool(row.ok) and post.p99_ms <= 25
    versus_plain = ratio_row(
        "signed-in POST /counter/{id} vs the plain Litestar POST" + suffix,
        post,
        plain,
        0.8 if targets else None,
        baseline_name="plain POST",
    )
    if targets:
        versus_plain.target += ", p99 <= plain's"
        versus_plain.ok = bool(versus_plain.ok) and post.p99_ms <= plain.p99_ms
    return [
        row,
        ratio_row("GET / page render" + suffix, home, ping, 0.6 if targets else None),
        ratio_row(
            "plain Litestar POST, same script (redis-py, f-string; bench/counter_plain_app.py)" + suffix,
            plain,
            ping,
            None,
            note="the POST without Remote Stack: no session, CSRF, template or middleware",
        ),
        versus_plain,
        ratio_row(
            "GET / vs a plain Litestar route returning the same pre-rendered HTML" + suffix,
            home,
            page,
            0.8 if targets else None,
            note="the plain route serves the bytes the app's / answered at start (no rendering)",
            baseline_name="plain page",
        ),
    ]


def run(duration_s: int = 5, rounds: int = 3, round_s: int = 3) -> list[Row]:
    """The HTTP rows on one granian worker (`measure_routes`), /ping under sign-in load, start-up."""
    rows: list[Row] = []
    progress("starting app and the plain Litestar app (granian, 1 worker each) for HTTP benchmarks")
    with (
        app_server(workers=1, env={"AUTH_ATTEMPTS_PER_MINUTE": "1000000"}) as server,
        with_plain_app(server) as plain_app,
    ):
        rows.extend(route_rows(measure_routes(server, plain_app, rounds, round_s)))

        idle = wrk(server.base_url + "/ping", connections=10, duration_s=duration_s)
        email = f"load-{uuid.uuid4().hex[:8]}@example.com"
        sign_up_and_in(server, email)
        loader = multiprocessing.get_context("spawn").Process(
            target=_sign_in_loop, args=(server.base_url, email, 20.0, duration_s + 2)
        )
        loader.start()
        time.sleep(1)  # let the sign-in stream reach its steady rate before measuring
        busy = wrk(server.base_url + "/ping", connections=10, duration_s=duration_s)
        loader.join(timeout=duration_s + 30)
        ratio = busy.p99_ms / idle.p99_ms if idle.p99_ms else 0.0
        rows.append(
            Row(
                name="/ping p99 during 20 sign-ins/s",
                measured=f"p99 {busy.p99_ms:.1f} ms",
                baseline=f"idle p99 {idle.p99_ms:.1f} ms",
                ratio=ratio,
                target="<= 2.0",
                ok=ratio <= 2.0,
            )
        )
        progress(f"/ping p99 idle {idle.p99_ms:.1f} ms, during sign-ins {busy.p99_ms:.1f} ms")

    starts = []
    for _ in range(3):
        with app_server(workers=1) as fresh:
            starts.append(fresh.started_in_s)
    best = min(starts)
    rows.append(
        Row(
            name="start to first /healthz 200 (embedded stack)",
            measured=f"{best:.2f} s (of {', '.join(f'{s:.2f}' for s in starts)})",
            baseline="-",
            ratio=None,
            target="<= 2 s",
            ok=best <= 2.0,
        )
    )
    return rows
