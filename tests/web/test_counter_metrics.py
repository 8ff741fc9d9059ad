"""Metrics of the counter demo's routes and actor calls, in one process and summed over workers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.server import running_app
from tests.web.test_metrics import JSON, metered, sample

__all__ = ["metered"]  # the fixture, shared with test_metrics.py


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


def test_metrics_count_actor_calls(metered: TestClient[Litestar]) -> None:
    before = metered.get("/metrics").text
    metered.get("/counter/x", headers=JSON)
    metered.get("/counter/y", headers=JSON)
    after = metered.get("/metrics").text
    labels = {"kind": "counter", "op": "get", "outcome": "ok"}
    assert sample(after, "actor_calls_total", **labels) - sample(before, "actor_calls_total", **labels) == 2


@pytest.mark.slow
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
