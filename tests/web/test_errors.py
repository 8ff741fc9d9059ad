"""App-wide error handlers, request ids and flash cookies, on a throwaway app with the real templates."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from tests.web.remote_support import BASE_URL, Calls, build_registry, make_app
from web import flash

JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}
BROWSER = {"Accept": "text/html"}

Client = TestClient[Litestar]


@get("/typed")
async def typed(n: int) -> dict[str, int]:
    return {"n": n}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    app = make_app(build_registry(Calls()), tmp_path)
    app.register(typed)
    with TestClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


def test_not_found_in_three_forms(client: Client) -> None:
    as_json = client.get("/nowhere", headers=JSON)
    assert as_json.status_code == 404
    assert as_json.json() == {"error": "There is nothing here."}
    as_htmx = client.get("/nowhere", headers=HTMX)
    assert as_htmx.status_code == 404 and as_htmx.text.startswith('<div id="error"')
    as_page = client.get("/nowhere", headers=BROWSER)
    assert as_page.status_code == 404 and "<html" in as_page.text and "Not Found" in as_page.text
    assert as_page.headers["x-request-id"]


def test_method_not_allowed(client: Client) -> None:
    response = client.get("/notes/x", headers=JSON)
    assert response.status_code == 405
    assert response.json() == {"error": "That method is not allowed here."}


def test_litestar_validation_is_422_naming_the_field(client: Client) -> None:
    response = client.get("/typed?n=abc", headers=JSON)
    assert response.status_code == 422
    assert "n" in response.json()["errors"]


def test_unexpected_error_in_a_page_is_generic_500(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/page/crash", headers=BROWSER)
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] in response.text
    assert any(response.headers["x-request-id"] in r.getMessage() for r in caplog.records)


def test_every_response_has_a_request_id(client: Client) -> None:
    first = client.get("/page/button").headers["x-request-id"]
    second = client.get("/page/button").headers["x-request-id"]
    assert first and second and first != second


def test_flash_round_trip_and_tampering() -> None:
    secret = b"k" * 32
    value = flash.encode([flash.Flash("hello", "success")], secret)
    assert flash.decode(value, secret) == [flash.Flash("hello", "success")]
    assert flash.decode(value, b"other" * 8) == []
    assert flash.decode(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1], secret) == []
    assert flash.decode("!!!", secret) == []


def test_flash_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = b"k" * 32
    value = flash.encode([flash.Flash("old")], secret)
    later = time.time() + flash.MAX_AGE_S + 1
    monkeypatch.setattr("web.flash.time.time", lambda: later)
    assert flash.decode(value, secret) == []


def test_forged_flash_cookie_is_not_shown(client: Client) -> None:
    client.cookies.set("flash", "eyJtZXNzYWdlcyI6W3sidGV4dCI6ImV2aWwifV19")
    assert "evil" not in client.get("/page/flashes").text


def test_real_app_answers_errors_in_the_callers_form(app: Litestar) -> None:
    with TestClient(app=app, base_url=BASE_URL) as real:
        as_json = real.get("/no/such/page", headers=JSON)
        assert as_json.status_code == 404
        assert as_json.json() == {"error": "There is nothing here."}
        assert as_json.headers["x-request-id"]
        as_page = real.get("/no/such/page", headers=BROWSER)
        assert as_page.status_code == 404 and "<html" in as_page.text
