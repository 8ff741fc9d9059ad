"""Structured request logs: one JSON object per request with its request id; auth events without secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.response import Stream
from litestar.testing import TestClient

from web.logging import RequestLogMiddleware, current_request_id, log_auth_event

JSON = {"Accept": "application/json"}


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    messages = [r.getMessage() for r in caplog.records if r.name == "remote_stack.access"]
    return [json.loads(m) for m in messages if m.startswith("{")]


def test_probes_are_logged_only_at_debug(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        client.get("/healthz")
    assert not [line for line in request_lines(caplog) if line["path"] == "/healthz"]


def test_auth_event_drops_secret_fields_and_adds_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    token = current_request_id.set("req-abcdef12")
    try:
        with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
            log_auth_event(
                "sign_in.failure",
                user_id=7,
                reason="wrong",
                password="hunter2",
                session_token="s3cr3t",
                csrf="c5rf",
                reset_code="123456",
            )
    finally:
        current_request_id.reset(token)
    (record,) = [r for r in caplog.records if r.name == "remote_stack.auth"]
    text = record.getMessage()
    assert "auth.event=sign_in.failure" in text
    assert "user_id=7" in text and "reason=wrong" in text and "request_id=req-abcdef12" in text
    for secret in ("hunter2", "s3cr3t", "c5rf", "123456", "password", "token"):
        assert secret not in text


def test_an_exception_after_the_response_started_is_logged_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @get("/breaks", sync_to_thread=False)
    def breaks() -> Stream:
        async def body() -> AsyncIterator[str]:
            yield "first"
            raise IndexError("list index out of range")

        return Stream(body())

    # logging_config=None: Litestar's default would reconfigure logging and drop caplog's handler.
    app = Litestar(route_handlers=[breaks], middleware=[RequestLogMiddleware], logging_config=None)
    with (
        caplog.at_level(logging.INFO, logger="remote_stack.access"),
        TestClient(app) as client,
        pytest.raises(Exception),  # noqa: B017 - the test transport re-raises whatever escaped
    ):
        client.get("/breaks")
    failures = [r for r in caplog.records if "failed mid-response" in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    assert "IndexError" in caplog.text
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/breaks"]
    assert line["status"] == 200


def test_request_log_line_carries_request_id_route_and_status(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        response = client.get("/orgs/abc", headers={**JSON, "X-Request-ID": "req-12345678"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-12345678"
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/orgs/abc"]
    assert line["event"] == "request"
    assert line["request_id"] == "req-12345678"
    assert line["method"] == "GET" and line["status"] == 401
    assert line["route"] == "/orgs/{slug}"
    assert line["ms"] >= 0 and line["bytes"] > 0


def test_request_log_makes_up_an_id_and_echoes_it(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        # An unsafe incoming id (spaces, quotes) is replaced, not logged.
        response = client.get("/orgs/abc", headers={**JSON, "X-Request-ID": 'x" injected'})
    (line,) = [line for line in request_lines(caplog) if line["path"] == "/orgs/abc"]
    assert line["request_id"] == response.headers["x-request-id"] != 'x" injected'


def test_request_refused_by_a_middleware_is_logged_with_its_status(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    path = "/_remote/update_preferences"
    with caplog.at_level(logging.INFO, logger="remote_stack.access"):
        response = client.post(path, headers={**JSON, "Origin": "https://evil.example"})
    assert response.status_code == 403
    (line,) = [line for line in request_lines(caplog) if line["path"] == path]
    assert line["status"] == 403 and line["method"] == "POST"
