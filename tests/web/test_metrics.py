"""/metrics: off by default; requests, latency, actor calls and open SSE streams when enabled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, get
from litestar.response import ServerSentEvent
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.server import running_app
from tests.web.auth_support import csrf_token, fast_hashing, signed_in_user
from web import metrics

JSON = {"Accept": "application/json"}


def sample(text: str, name: str, **labels: str) -> float:
    """The value of sample `name` whose labels include `labels` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return float(item.value)
    return 0.0


def test_metrics_are_off_unless_enabled(client: TestClient[Litestar]) -> None:
    assert client.get("/metrics", headers=JSON).status_code == 404


@pytest.fixture
def metered(settings: Settings) -> Iterator[TestClient[Litestar]]:
    from app import create_app

    with TestClient(create_app(settings.with_overrides(metrics_enabled=True)), base_url=TEST_BASE_URL) as c:
        yield c


@get("/events", sync_to_thread=False)
def events() -> ServerSentEvent:
    async def report() -> AsyncIterator[str]:
        # Read while this very stream is open (the sync test client buffers a whole response).
        yield str(REGISTRY.get_sample_value("sse_streams_open"))

    return ServerSentEvent(report())


@get("/plain", sync_to_thread=False)
def plain() -> str:
    return str(REGISTRY.get_sample_value("sse_streams_open"))


def test_open_sse_streams_gauge_follows_streams() -> None:
    app = Litestar(route_handlers=[events, plain], middleware=[metrics.MetricsMiddleware])
    with TestClient(app) as client:
        baseline = float(client.get("/plain").text)
        during = client.get("/events")
        assert during.headers["content-type"].startswith("text/event-stream")
        assert during.text.splitlines()[0] == f"data: {baseline + 1}"
        assert float(client.get("/plain").text) == baseline


def signed_in_json(client: TestClient[Litestar]) -> dict[str, str]:
    """Sign a user in on `client`; the headers of their JSON calls."""
    fast_hashing(client)
    signed_in_user(client, "metrics@example.com")
    return {**JSON, "x-csrftoken": csrf_token(client)}


def test_metrics_count_requests_by_route_template_and_status(metered: TestClient[Litestar]) -> None:
    headers = signed_in_json(metered)
    created = metered.post("/orgs", data={"name": "Acme", "slug": "acme"}, headers=headers)
    assert created.status_code in (200, 201), created.text
    before = metered.get("/metrics").text
    for _ in range(3):
        assert metered.get("/orgs/acme", headers=JSON).status_code == 200
    assert metered.get("/orgs/no-such-org", headers=JSON).status_code == 404
    response = metered.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    # Labelled by the route's template, not the path: one series however many organizations.
    labels = {"method": "GET", "route": "/orgs/{slug}"}
    ok = "http_requests_total"
    assert sample(after, ok, **labels, status="200") - sample(before, ok, **labels, status="200") == 3
    assert sample(after, ok, **labels, status="404") - sample(before, ok, **labels, status="404") == 1
    count = "http_request_duration_seconds_count"
    assert sample(after, count, **labels) - sample(before, count, **labels) == 4
    assert sample(after, ok, route="/orgs/acme") == 0
    # /metrics itself is not counted (scrapes would swamp the figures).
    assert sample(after, ok, route="/metrics") == 0


def test_metrics_count_actor_calls(metered: TestClient[Litestar]) -> None:
    headers = signed_in_json(metered)
    before = metered.get("/metrics").text
    for theme in ("dark", "light"):
        saved = metered.post(
            "/_remote/update_preferences",
            data={"theme": theme, "language": "en", "timezone": "UTC"},
            headers=headers,
        )
        assert saved.status_code == 200
    after = metered.get("/metrics").text
    labels = {"kind": "preferences", "op": "update", "outcome": "ok"}
    assert sample(after, "actor_calls_total", **labels) - sample(before, "actor_calls_total", **labels) == 2


@pytest.mark.slow
def test_metrics_sum_over_worker_processes(tmp_path: Path) -> None:
    """`serve --workers 2` with METRICS_ENABLED: /metrics on any worker reports every worker's requests."""
    route = "/orgs/{slug}"
    with running_app(tmp_path / "data", "--workers", "2", env={"METRICS_ENABLED": "true"}) as app:
        before = sample(app.get("/metrics").text, "http_requests_total", route=route)
        for _ in range(40):
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(base_url=app.base_url, headers={**JSON, "Connection": "close"}) as one:
                response = one.get("/orgs/multi")
                assert response.status_code == 401  # signed out: refused, and counted all the same
        text = app.get("/metrics").text
        after = sample(text, "http_requests_total", route=route)
        assert after - before == 40
        # Sample files are per worker process (`<type>_<pid>.db`).
        pids = {path.stem.rsplit("_", 1)[-1] for path in (tmp_path / "data" / "prometheus").glob("*.db")}
        assert len(pids) >= 1
