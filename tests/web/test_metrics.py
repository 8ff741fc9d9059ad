"""/metrics: off by default; requests, latency, actor calls and open SSE streams when enabled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar, get
from litestar.response import ServerSentEvent
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from settings import Settings
from tests.conftest import TEST_BASE_URL
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
