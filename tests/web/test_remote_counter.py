"""The counter remote functions through the real app: the original's {count, id, timestamp} contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from actors.counter import CounterActor, CounterState
from tests.web.auth_support import Browser, fast_hashing, signed_in_user
from tests.web.auth_support import csrf_token as session_csrf_token
from tests.web.remote_support import BASE_URL, USER_HEADER, make_app
from web.functions.counter import CounterId, get_counter, increment_counter, schedule_counter_reset
from web.remote import Context, Registry, command

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


def test_same_idempotency_key_increments_once(client: Client) -> None:
    token = csrf_token(client)
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token, "Idempotency-Key": "key-0001"}
    first = client.post("/counter/once", headers=headers).json()
    again = client.post("/counter/once", headers=headers).json()
    assert first == again and first["count"] == 1
    form = {"_csrf_token": token, "_idempotency_key": "form-key-1"}
    for _ in range(2):
        client.post("/counter/once", data=form, headers=SIGNED_IN, follow_redirects=False)
    assert client.get("/counter/once", headers=JSON).json()["count"] == 2


def test_bad_idempotency_key_is_422(client: Client) -> None:
    token = csrf_token(client)
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token, "Idempotency-Key": "no spaces allowed"}
    response = client.post("/counter/once", headers=headers)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"idempotency_key"}


def test_real_app_serves_the_counter_json_contract(app: Litestar) -> None:
    pytest.importorskip("domain.auth.tables", reason="the real app needs the auth tables")
    with TestClient(app=app, base_url=BASE_URL) as real:
        body = real.get("/counter/real", headers=JSON).json()
        assert (body["count"], body["id"]) == (0, "real")
        assert "/counter/{counter_id}" in real.get("/schema/openapi.json").json()["paths"]


def test_same_idempotency_key_from_two_users_applies_for_each(app: Litestar) -> None:
    """User B replaying user A's key on the same counter is B's own increment, with B's own answer."""
    with TestClient(app=app, base_url=BASE_URL) as real:
        fast_hashing(real)
        answers = []
        for email in ("ada@example.com", "bob@example.com"):
            with Browser(real).active() as browser:
                signed_in_user(browser, email)
                headers = {
                    **JSON,
                    "x-csrftoken": session_csrf_token(browser),
                    "Idempotency-Key": "shared-key-1",
                }
                answers.append([browser.post("/counter/shared", headers=headers) for _ in range(2)])
        (a_first, a_again), (b_first, b_again) = answers
        assert all(r.status_code == 200 for r in (a_first, a_again, b_first, b_again))
        assert a_first.json() == a_again.json() and a_first.json()["count"] == 1
        assert b_first.json() == b_again.json() and b_first.json()["count"] == 2
        assert real.get("/counter/shared", headers=JSON).json()["count"] == 2


def test_same_idempotency_key_on_another_function_is_a_fresh_request(tmp_path: Path, redis_url: str) -> None:
    registry = Registry()
    registry.add(get_counter)
    registry.add(increment_counter)
    registry.add(schedule_counter_reset)

    @command(registry=registry, path="/counter/{counter_id}/bump", signed_in="Please sign in")
    async def bump_counter(ctx: Context, counter_id: CounterId) -> CounterState:
        return await ctx.services.actor(CounterActor).increment(counter_id, request_id=ctx.idempotency_key)

    with TestClient(app=make_app(registry, tmp_path, redis_url), base_url=BASE_URL) as client:
        headers = {**JSON, **SIGNED_IN, "x-csrftoken": csrf_token(client), "Idempotency-Key": "same-key-9"}
        first = client.post("/counter/two", headers=headers).json()
        other = client.post("/counter/two/bump", headers=headers).json()
        other_again = client.post("/counter/two/bump", headers=headers).json()
        assert (first["count"], other["count"]) == (1, 2)
        assert other_again == other
        assert client.get("/counter/two", headers=JSON).json()["count"] == 2


def test_same_idempotency_key_from_two_signed_out_browsers_applies_for_each(
    tmp_path: Path, redis_url: str
) -> None:
    """Without a user, the browser (its CSRF secret) owns the key."""
    registry = Registry()
    registry.add(get_counter)

    @command(registry=registry, path="/counter/{counter_id}/public", public=True)
    async def public_increment(ctx: Context, counter_id: CounterId) -> CounterState:
        return await ctx.services.actor(CounterActor).increment(counter_id, request_id=ctx.idempotency_key)

    with TestClient(app=make_app(registry, tmp_path, redis_url), base_url=BASE_URL) as client:
        one, two = Browser(client), Browser(client)
        counts = []
        for browser in (one, two, one):
            with browser.active() as active:
                headers = {**JSON, "x-csrftoken": csrf_token(active), "Idempotency-Key": "anon-key-1"}
                counts.append(active.post("/counter/anon/public", headers=headers).json()["count"])
        assert counts == [1, 2, 1]


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
