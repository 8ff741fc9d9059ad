"""Abuse against a real server: 200 concurrent wrong-password sign-ins stay bounded in memory and time."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from domain.auth.passwords import OWASP_MINIMUM, HashParams, PasswordHasher
from domain.errors import Unavailable
from tests.hardening.support import PASSWORD, csrf_headers, served_app, sign_up_verified
from tests.support.server import RunningApp

BURST = 200
# What the app may use on top of its idle size while the burst runs: argon2id takes
# `memory_cost` per hash in flight and the cap allows at most 4 at once; one more and 64 MiB slack.
HASH_MIB = HashParams().memory_cost_kib // 1024
RSS_HEADROOM_MIB = (4 + 1) * HASH_MIB + 64


# Issue 12's latency bound on an idle box, scaled by the load other processes put on the cores;
# reported beside the measured p99 (not asserted).
def p99_limit() -> float:
    """Read before a burst, so the load it measures is other processes', not the burst's own."""
    return 1.0 * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


@dataclass
class Answer:
    status: int
    seconds: float


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(Path(tmp_path_factory.mktemp("abuse"))) as app:
        yield app


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (granian's worker and the embedded redis-server included)."""
    found = [pid]
    for current in found:
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(child) for child in children if int(child) not in found)
    return found


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_kib(pid: int, field: str) -> int:
    total = 0
    for member in process_tree(pid):
        try:
            total += status_kib(member, field)
        except OSError:
            continue
    return total


def form_auth(server: RunningApp) -> tuple[dict[str, str], dict[str, str]]:
    """A CSRF token pair (cookie and field) and same-origin headers, shared by every attacker."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        headers = csrf_headers(client, server.base_url)
        cookies = {c.name: c.value or "" for c in client.cookies.jar}
    return headers, cookies


async def burst(server: RunningApp, emails: list[str], addresses: list[str]) -> list[Answer]:
    """One wrong-password sign-in per (email, source address), all released at once."""
    headers, cookies = form_auth(server)
    clients = [
        httpx.AsyncClient(
            base_url=server.base_url,
            transport=httpx.AsyncHTTPTransport(local_address=address),
            timeout=30,
            cookies=cookies,
            headers={**headers, "accept": "text/html"},
        )
        for address in addresses
    ]
    start = asyncio.Event()

    async def attempt(client: httpx.AsyncClient, email: str) -> Answer:
        await start.wait()
        began = time.perf_counter()
        data = {"email": email, "password": "wrong password 123", "_csrf_token": headers["x-csrftoken"]}
        response = await client.post("/auth/sign-in", data=data)
        return Answer(response.status_code, time.perf_counter() - began)

    try:
        # Connect every attacker first, so the figures time answers, not 200 TCP handshakes.
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        tasks = [asyncio.ensure_future(attempt(c, e)) for c, e in zip(clients, emails, strict=True)]
        start.set()
        return list(await asyncio.gather(*tasks))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def p99(answers: list[Answer]) -> float:
    times = sorted(a.seconds for a in answers)
    return times[min(len(times) - 1, int(len(times) * 0.99))]


def report(label: str, answers: list[Answer], rss_before: int, rss_peak: int, limit: float) -> str:
    statuses = dict(sorted(Counter(a.status for a in answers).items()))
    return (
        f"{label}: statuses={statuses} p50={sorted(a.seconds for a in answers)[len(answers) // 2]:.3f}s "
        f"p99={p99(answers):.3f}s max={max(a.seconds for a in answers):.3f}s "
        f"rss_before={rss_before // 1024}MiB peak={rss_peak // 1024}MiB "
        f"p99_limit={limit:.2f}s"
    )


@pytest.mark.slow
async def test_abuse_200_wrong_passwords_from_200_addresses_hit_the_argon2_cap(server: RunningApp) -> None:
    """Every attempt passes the rate limits (own address, own email): only the hashing cap holds them."""
    # Warm up: the first unknown-email sign-in makes the process's dummy hash (compared against so
    # unknown emails cost as much as known ones); a burst on a cold process waits for it once.
    await burst(server, ["warm-up@example.com"], ["127.0.8.8"])
    rss_before = tree_kib(server.process.pid, "VmRSS")
    limit = p99_limit()
    addresses = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(BURST)]
    emails = [f"nobody{i}@example.com" for i in range(BURST)]
    answers = await burst(server, emails, addresses)
    rss_peak = tree_kib(server.process.pid, "VmHWM")
    print(report("200 addresses x 200 emails", answers, rss_before, rss_peak, limit))
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {422, 429, 503}, statuses
    assert statuses[503] + statuses[429] > 0, "no attempt was refused: the hashing cap did not hold"
    # Latency (target p99 < 1 s) is printed above, not asserted:
    # the suite holds no timed assertions (a loaded CI box would make them flaky).
    assert rss_peak - rss_before < RSS_HEADROOM_MIB * 1024


@pytest.mark.slow
async def test_abuse_200_wrong_passwords_for_one_account_let_exactly_the_limit_through(
    server: RunningApp,
) -> None:
    """A burst from one address at one account: the rate limiter lets exactly its limit reach hashing."""
    sign_up_verified(server, "victim@example.com").close()
    rss_before = tree_kib(server.process.pid, "VmRSS")
    limit = p99_limit()
    answers = await burst(server, ["victim@example.com"] * BURST, ["127.0.9.9"] * BURST)
    rss_peak = tree_kib(server.process.pid, "VmHWM")
    print(report("1 address x 1 email", answers, rss_before, rss_peak, limit))
    statuses = Counter(a.status for a in answers)
    # The app's sign-in limit: 5 attempts per minute per address and per email. Those 5 reach the
    # hashing cap, which may still refuse some of them (503).
    assert statuses[429] == BURST - 5, statuses
    assert statuses[422] + statuses[503] == 5, statuses
    assert statuses[422] >= 1, statuses


async def test_hasher_queued_caller_gets_unavailable_after_max_wait() -> None:
    """One slot busy with a hash (tens of ms): callers queued behind it give up after 10 ms."""
    hasher = PasswordHasher(OWASP_MINIMUM, max_concurrent=1, max_wait_seconds=0.01)
    stored = await hasher.hash(PASSWORD)
    results = await asyncio.gather(
        *(hasher.verify(stored, PASSWORD) for _ in range(10)), return_exceptions=True
    )
    assert results.count(True) == 1
    assert sum(isinstance(r, Unavailable) for r in results) == 9
