"""The counter remote functions through the real app: the original's {count, id, timestamp} contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.web.remote_support import BASE_URL, USER_HEADER, make_app
from web.functions.counter import get_counter, increment_counter, schedule_counter_reset
from web.remote import Registry

JSON = {"Accept": "application/json"}
SIGNED_IN = {USER_HEADER: "1"}
Client = TestClient[Litestar]


@pytest.fixture
def counter_client(tmp_path: Path, redis_url: str) -> Iterator[Client]:
    """The two counter functions on a throwaway app with real actors (no database needed)."""
    registry = Registry()
    registry.add(get_counter)
    registry.add(increment_counter)
    registry.add(schedule_counter_reset)
    with TestClient(app=make_app(registry, tmp_path, redis_url), base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def client(counter_client: Client) -> Client:
    return counter_client


def csrf_token(client: Client) -> str:
    client.get("/counter/default")
    token = client.cookies.get("csrftoken")
    assert token
    return token


def test_get_counter_json_contract(client: Client) -> None:
    response = client.get("/counter/demo", headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 0 and body["id"] == "demo"
    assert isinstance(body["timestamp"], str) and body["timestamp"]


def test_get_counter_page_for_browsers(client: Client) -> None:
    response = client.get("/counter/demo", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "<html" in response.text and '<section id="counter"' in response.text


def test_get_counter_partial_for_htmx(client: Client) -> None:
    response = client.get("/counter/demo", headers={"HX-Request": "true", **SIGNED_IN})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="counter"')
    assert 'hx-post="/counter/demo"' in response.text


def test_invalid_counter_id_is_422_naming_counter_id(client: Client) -> None:
    response = client.get("/counter/" + "x" * 65, headers=JSON)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"counter_id"}
    bad_chars = client.get("/counter/a%20b", headers=JSON)
    assert bad_chars.status_code == 422


def test_increment_needs_sign_in(client: Client) -> None:
    token = csrf_token(client)
    response = client.post("/counter/demo", headers={**JSON, "x-csrftoken": token})
    assert response.status_code == 401
    assert response.json()["error"] == "Please sign in to increment the counter"
    assert client.get("/counter/demo", headers=JSON).json()["count"] == 0


def test_increment_without_csrf_is_403(client: Client) -> None:
    client.get("/counter/demo")
    assert client.post("/counter/demo", headers=JSON).status_code == 403


def test_counter_functions_in_openapi(client: Client) -> None:
    schema = client.get("/schema/openapi.json").json()
    counter = schema["paths"]["/counter/{counter_id}"]
    assert set(counter) == {"get", "post"}
    ok = counter["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    state = schema["components"]["schemas"][ok.rsplit("/", 1)[-1]]
    assert {"count", "id", "timestamp"} <= set(state["properties"])


def test_signed_in_increment_returns_new_state(client: Client) -> None:
    token = csrf_token(client)
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token}
    first = client.post("/counter/demo", headers=headers).json()
    second = client.post("/counter/demo", headers=headers).json()
    assert (first["count"], second["count"]) == (1, 2)
    assert client.get("/counter/demo", headers=JSON).json()["count"] == 2


def test_signed_in_increment_with_htmx_swaps_the_partial(client: Client) -> None:
    token = csrf_token(client)
    headers = {"HX-Request": "true", **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/counter/demo", headers=headers)
    assert response.status_code == 200
    assert " data-count>1</p>" in response.text


def test_increment_without_javascript_redirects_back(client: Client) -> None:
    token = csrf_token(client)
    data = {"_csrf_token": token, "next": "/"}
    response = client.post("/counter/demo", data=data, headers=SIGNED_IN, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_real_app_serves_the_counter_json_contract(app: Litestar) -> None:
    pytest.importorskip("domain.auth.tables", reason="the real app needs the auth tables")
    with TestClient(app=app, base_url=BASE_URL) as real:
        body = real.get("/counter/real", headers=JSON).json()
        assert (body["count"], body["id"]) == (0, "real")
        assert "/counter/{counter_id}" in real.get("/schema/openapi.json").json()["paths"]


CURL = {"Accept": "*/*", "User-Agent": "curl/8.5.0"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def app_client(app: Litestar) -> Iterator[Client]:
    """The whole app (its `/counter` route is outside the remote-function registry)."""
    from tests.conftest import TEST_BASE_URL

    with TestClient(app=app, base_url=TEST_BASE_URL) as test_client:
        yield test_client


def test_get_counter_answers_curl_with_json(client: Client) -> None:
    response = client.get("/counter/x", headers=CURL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert {"count", "id", "timestamp"} <= set(response.json()) and response.json()["id"] == "x"
    bad = client.get("/counter/no spaces", headers=CURL)
    assert bad.status_code == 422 and "counter_id" in bad.json()["errors"]


def test_get_counter_still_answers_browsers_with_the_page(client: Client) -> None:
    response = client.get("/counter/x", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html") and "<html" in response.text


@pytest.mark.parametrize("path", ["/counter", "/counter/"])
def test_counter_without_an_id_is_the_default_counter(app_client: Client, path: str) -> None:
    response = app_client.get(path, headers=CURL)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "default"
    page = app_client.get(path, headers=BROWSER)
    assert page.status_code == 200 and '<section id="counter"' in page.text
