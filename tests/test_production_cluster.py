"""Scale-out: `serve --workers 2` on PostgreSQL and a 3-node Redis Cluster; SSE gets every change."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from actors.connection import create_redis
from actors.events import ActorEvent
from actors.listen import EventHub
from actors.preferences import PreferencesActor
from tests.actors.test_cluster import cluster_ports
from tests.support.server import RunningApp, free_port, running_app, wait_until
from tests.support.signin import csrf_of, signed_in
from tests.web.test_metrics import sample

pytestmark = [pytest.mark.slow]

__all__ = ["cluster_ports"]  # the actors tests' 3-node cluster fixture, reused here

JSON = {"Accept": "application/json"}
CHANGES = 30
UPDATE = "/_remote/update_preferences"
THEMES = ("dark", "light", "system")


@dataclass
class Listener:
    """An SSE client on its own thread, collecting the event ids it receives."""

    url: str
    cookies: httpx.Cookies
    ids: list[int] = field(default_factory=list)
    error: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with (
                httpx.Client(cookies=self.cookies, timeout=httpx.Timeout(10, read=None)) as client,
                client.stream("GET", self.url) as response,
            ):
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith("id: "):
                        self.ids.append(int(line[4:]))
                    if self.stop.is_set():
                        return
        except BaseException as exc:  # reported by the test thread
            self.error = exc


def per_worker_requests(directory: Path, route: str) -> dict[str, float]:
    """Requests counted by each worker process, read from its own multiprocess sample files."""
    # Each process writes `<type>_<pid>.db` files: collect one process's files at a time.
    by_pid: dict[str, list[Path]] = {}
    for path in directory.glob("*.db"):
        by_pid.setdefault(path.stem.rsplit("_", 1)[-1], []).append(path)
    counts: dict[str, float] = {}
    for pid, paths in by_pid.items():
        single = Path(tempfile.mkdtemp(prefix="prom-"))
        try:
            for path in paths:
                shutil.copy(path, single / path.name)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(single))  # type: ignore[no-untyped-call]
            text = generate_latest(registry).decode()
            counts[pid] = sample(text, "http_requests_total", method="POST", route=route, status="200")
        finally:
            shutil.rmtree(single, ignore_errors=True)
    return counts


@pytest.fixture
def served(tmp_path: Path, postgres_url: str, cluster_ports: list[int]) -> Iterator[tuple[str, Path]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in cluster_ports),
        "BASE_URL": base,
        "METRICS_ENABLED": "true",
        "AUTH_ATTEMPTS_PER_MINUTE": "1000",
    }
    with running_app(data, "--workers", "2", env=env, port=port) as app:
        APPS.append(app)
        yield base, data


APPS: list[RunningApp] = []


def server_log() -> str:
    lines = APPS[-1].output().splitlines(keepends=True) if APPS else []
    return "".join(line for line in lines[-400:] if '"event": "request"' not in line)


def test_two_workers_on_postgres_and_cluster_deliver_every_change_to_sse(served: tuple[str, Path]) -> None:
    base, data = served
    assert httpx.get(base + "/readyz", timeout=10).json() == {"database": "ok", "redis": "ok"}
    user = signed_in(base, data, "ada@example.com")
    listener = Listener(f"{base}/account/preferences/events", user.cookies)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    wait_until(lambda: listener.ids == [0] or listener.error is not None, 20, "the stream's first state")
    assert listener.error is None, server_log()

    # No keep-alive: every change opens its own connection, which either worker may accept.
    headers = {**JSON, "x-csrftoken": csrf_of(user), "Origin": base, "Sec-Fetch-Site": "same-origin"}
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        base_url=base, cookies=user.cookies, headers=headers, limits=limits, timeout=15
    ) as http:
        versions = [
            http.post(UPDATE, data={"theme": THEMES[n % 3], "language": "en", "timezone": "UTC"}).json()[
                "version"
            ]
            for n in range(CHANGES)
        ]
    assert versions == list(range(1, CHANGES + 1)), str(versions)

    wait_until(
        lambda: listener.ids[-1:] == [CHANGES] or listener.error is not None, 30, "every change on SSE"
    )
    assert listener.error is None, server_log()
    assert listener.ids == list(range(CHANGES + 1))
    listener.stop.set()

    served_by = per_worker_requests(data / "prometheus", UPDATE)
    assert sum(served_by.values()) == CHANGES
    # Both worker processes answered changes (each writes its own sample file).
    assert len([pid for pid, n in served_by.items() if n > 0]) == 2, served_by
    user.close()


async def test_a_stream_can_be_the_first_thing_a_cluster_client_does(cluster_ports: list[int]) -> None:
    """A worker whose first request is an SSE stream subscribes before any command ran on its client."""
    url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in cluster_ports)
    fresh = create_redis(url)
    writer = create_redis(url)
    hub = EventHub(fresh)
    try:
        async with hub.subscribe("preferences", "first-thing") as events:
            state = await PreferencesActor(writer).update("first-thing", theme="dark")
            event = await asyncio.wait_for(anext(events), 10)
        assert isinstance(event, ActorEvent) and event.version == state.version
    finally:
        await hub.aclose()
        await fresh.aclose()
        await writer.aclose()
