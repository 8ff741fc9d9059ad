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
from tests.support.demo import needs_counter_demo
from tests.support.server import running_app
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


@needs_counter_demo
def test_metrics_count_requests_by_route_template_and_status(metered: TestClient[Litestar]) -> None:
    before = metered.get("/metrics").text
    for counter_id in ("a", "b", "c"):
        assert metered.get(f"/counter/{counter_id}", headers=JSON).status_code == 200
    assert metered.get("/counter/bad id!", headers=JSON).status_code == 422
    response = metered.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    labels = {"method": "GET", "route": "/counter/{counter_id}"}
    ok = "http_requests_total"
    assert sample(after, ok, **labels, status="200") - sample(before, ok, **labels, status="200") == 3
    assert sample(after, ok, **labels, status="422") - sample(before, ok, **labels, status="422") == 1
    count = "http_request_duration_seconds_count"
    assert sample(after, count, **labels) - sample(before, count, **labels) == 4
    # /metrics itself is not counted (scrapes would swamp the figures).
    assert sample(after, ok, route="/metrics") == 0


@needs_counter_demo
def test_metrics_count_actor_calls(metered: TestClient[Litestar]) -> None:
    before = metered.get("/metrics").text
    metered.get("/counter/x", headers=JSON)
    metered.get("/counter/y", headers=JSON)
    after = metered.get("/metrics").text
    labels = {"kind": "counter", "op": "get", "outcome": "ok"}
    assert sample(after, "actor_calls_total", **labels) - sample(before, "actor_calls_total", **labels) == 2


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


@pytest.mark.slow
@needs_counter_demo
def test_metrics_sum_over_worker_processes(tmp_path: Path) -> None:
    """`serve --workers 2` with METRICS_ENABLED: /metrics on any worker reports every worker's requests."""
    with running_app(tmp_path / "data", "--workers", "2", env={"METRICS_ENABLED": "true"}) as app:
        before = sample(app.get("/metrics").text, "http_requests_total", route="/counter/{counter_id}")
        for _ in range(40):
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(base_url=app.base_url, headers={**JSON, "Connection": "close"}) as one:
                response = one.get("/counter/multi")
                assert response.status_code == 200
        text = app.get("/metrics").text
        after = sample(text, "http_requests_total", route="/counter/{counter_id}")
        assert after - before == 40
        # One sample file per worker process that counted something.
        assert len(list((tmp_path / "data" / "prometheus").glob("counter_*.db"))) >= 1
