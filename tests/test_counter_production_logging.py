"""Request log lines for the counter demo's routes: request id, route template and status."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.test_production_logging import JSON, request_lines


def test_request_log_line_carries_request_id_route_and_status(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        response = client.get("/counter/abc", headers={**JSON, "X-Request-ID": "req-12345678"})
    assert response.headers["x-request-id"] == "req-12345678"
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/counter/abc"]
    assert line["event"] == "request"
    assert line["request_id"] == "req-12345678"
    assert line["method"] == "GET" and line["status"] == 200
    assert line["route"] == "/counter/{counter_id}"
    assert line["ms"] >= 0 and line["bytes"] > 0


def test_request_log_makes_up_an_id_and_echoes_it(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        # An unsafe incoming id (spaces, quotes) is replaced, not logged.
        response = client.get("/counter/abc", headers={**JSON, "X-Request-ID": 'x" injected'})
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/counter/abc"]
    assert line["request_id"] == response.headers["x-request-id"] != 'x" injected'


def test_request_refused_by_a_middleware_is_logged_with_its_status(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        response = client.post("/counter/abc", headers={**JSON, "Origin": "https://evil.example"})
    assert response.status_code == 403
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/counter/abc"]
    assert line["status"] == 403 and line["method"] == "POST"
