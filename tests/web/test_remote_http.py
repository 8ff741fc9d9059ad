"""The remote-function response contract over HTTP: each caller and outcome, for a query and a command."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.web.remote_support import BASE_URL, USER_HEADER, Calls, build_registry, csrf, make_app

HTMX = {"HX-Request": "true", "HX-Current-URL": f"{BASE_URL}/page/button"}
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SIGNED_IN = {USER_HEADER: "1"}

Client = TestClient[Litestar]


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def client(tmp_path: Path, calls: Calls, redis_url: str) -> Iterator[Client]:
    app = make_app(build_registry(calls), tmp_path, redis_url)
    with TestClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def token(client: Client) -> str:
    return csrf(client)


def form_post(client: Client, path: str, data: dict[str, str], headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data=data, headers=headers, follow_redirects=False)


# --- query: get_note (no sign-in) and get_secret (sign-in) ------------------------------------


def test_query_htmx_success_is_the_partial(client: Client) -> None:
    response = client.get("/_remote/get_note?title=hello&count=3", headers=HTMX)
    assert response.status_code == 200
    assert response.text.startswith('<div id="note">')
    assert '<p class="count">3</p>' in response.text
    assert "<html" not in response.text
    assert response.headers["vary"] == "HX-Request, Accept"


def test_query_htmx_invalid_rerenders_partial_with_field_errors(client: Client, calls: Calls) -> None:
    response = client.get("/_remote/get_note?title=&count=-1", headers=HTMX)
    assert response.status_code == 422
    assert response.text.startswith('<div id="note">')
    assert "title</span>: Must not be empty" in response.text
    assert "count</span>: Must be at least 0" in response.text
    assert calls.seen == []


def test_query_htmx_not_signed_in_redirects_to_sign_in(client: Client) -> None:
    response = client.get("/_remote/get_secret", headers=HTMX)
    assert response.headers["hx-redirect"] == "/auth/sign-in?next=/page/button"
    assert "flash=" in response.headers["set-cookie"]


def test_query_json_success_is_the_value(client: Client) -> None:
    response = client.get("/_remote/get_note?title=hello&mood=sad", headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"title": "hello", "count": 1, "mood": "sad", "tags": []}
    assert response.headers["vary"] == "HX-Request, Accept"


def test_query_json_invalid_is_422_errors(client: Client) -> None:
    response = client.get("/_remote/get_note?title=" + "x" * 21 + "&count=many&mood=meh", headers=JSON)
    assert response.status_code == 422
    assert response.json() == {
        "errors": {
            "title": "Must be at most 20 characters",
            "count": "Must be a whole number",
            "mood": "Must be one of: happy, sad",
        }
    }


def test_query_json_not_signed_in_is_401(client: Client) -> None:
    response = client.get("/_remote/get_secret", headers=JSON)
    assert response.status_code == 401
    assert response.json()["error"] == "Please sign in to see secrets"


def test_query_json_signed_in(client: Client) -> None:
    response = client.get("/_remote/get_secret", headers={**JSON, **SIGNED_IN})
    assert response.json()["title"] == "Alice"


def test_query_browser_success_is_the_full_page(client: Client) -> None:
    response = client.get("/_remote/get_note?title=hello", headers=BROWSER)
    assert response.status_code == 200
    assert "<html" in response.text
    assert "Note page" in response.text
    assert '<p class="title">hello</p>' in response.text


def test_query_browser_invalid_rerenders_page_with_errors(client: Client) -> None:
    response = client.get("/_remote/get_note?count=1", headers=BROWSER)
    assert response.status_code == 422
    assert "<html" in response.text
    assert "Note page" in response.text
    assert "title</span>: This field is required" in response.text


def test_query_browser_not_signed_in_redirects_with_next(client: Client) -> None:
    response = client.get("/_remote/get_secret?x=1", headers=BROWSER, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?next=/_remote/get_secret%3Fx%3D1"


# --- command: add_note (sign-in required, POST /notes/{title}) --------------------------------


def test_command_htmx_success_is_the_partial(client: Client, token: str) -> None:
    headers = {**HTMX, **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/notes/hello", data={"count": "4"}, headers=headers)
    assert response.status_code == 200
    assert response.text.startswith('<div id="note">')
    assert '<p class="count">4</p>' in response.text
    assert response.headers["hx-trigger"] == "add_note"


def test_command_htmx_invalid_rerenders_partial(client: Client, token: str, calls: Calls) -> None:
    headers = {**HTMX, **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/notes/hello", data={"count": "four"}, headers=headers)
    assert response.status_code == 422
    assert response.text.startswith('<div id="note">')
    assert "count</span>: Must be a whole number" in response.text
    assert calls.seen == []


def test_command_htmx_not_signed_in_redirects(client: Client, token: str, calls: Calls) -> None:
    response = client.post("/notes/hello", headers={**HTMX, "x-csrftoken": token})
    assert response.headers["hx-redirect"] == "/auth/sign-in?next=/page/button"
    assert calls.seen == []


def test_command_json_success(client: Client, token: str) -> None:
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/notes/hello", json={"count": 2, "tags": ["a"]}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"title": "hello", "count": 2, "mood": "happy", "tags": ["a"]}


def test_command_json_invalid(client: Client, token: str, calls: Calls) -> None:
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/notes/hello", json={"count": "2", "admin": True}, headers=headers)
    assert response.status_code == 422
    assert response.json() == {"errors": {"count": "Must be a whole number", "admin": "Unknown field"}}
    assert calls.seen == []


def test_command_json_malformed_body(client: Client, token: str) -> None:
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token, "content-type": "application/json"}
    response = client.post("/notes/hello", content=b"{nope", headers=headers)
    assert response.status_code == 422
    assert response.json() == {"errors": {"body": "Is not valid JSON"}}


def test_command_json_not_signed_in(client: Client, token: str) -> None:
    response = client.post("/notes/hello", json={}, headers={**JSON, "x-csrftoken": token})
    assert response.status_code == 401
    assert response.json()["error"] == "Please sign in to add a note"


def test_command_browser_success_redirects_back_with_flash(client: Client, token: str) -> None:
    data = {"_csrf_token": token, "next": "/page/button", "count": "2"}
    response = form_post(client, "/notes/hello", data, {**BROWSER, **SIGNED_IN})
    assert response.status_code == 303
    assert response.headers["location"] == "/page/button"
    shown = client.get("/page/flashes")
    assert "Note added" in shown.text
    assert "flash=" in shown.headers["set-cookie"] and "Max-Age=0" in shown.headers["set-cookie"]
    assert "Note added" not in client.get("/page/flashes").text


def test_command_browser_invalid_rerenders_page(client: Client, token: str) -> None:
    data = {"_csrf_token": token, "count": "lots"}
    response = form_post(client, "/notes/hello", data, {**BROWSER, **SIGNED_IN})
    assert response.status_code == 422
    assert "<html" in response.text and "Note page" in response.text
    assert "count</span>: Must be a whole number" in response.text
    assert 'value="' + token not in response.text.split("<main", 1)[1]


def test_command_browser_not_signed_in_redirects_to_sign_in(client: Client, token: str) -> None:
    headers = {**BROWSER, "referer": f"{BASE_URL}/page/button"}
    response = form_post(client, "/notes/hello", {"_csrf_token": token}, headers)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?next=/page/button"
    assert "Please sign in to add a note" in client.get("/page/flashes").text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com/x",
        "https://evil.com/x",
        "/\\evil.com",
        "javascript:alert(1)",
        "evil.com",
        "http://testserver.local.evil.com/",
    ],
)
def test_command_browser_redirect_stays_on_site(client: Client, token: str, target: str) -> None:
    data = {"_csrf_token": token, "next": target}
    response = form_post(client, "/notes/hello", data, {**BROWSER, **SIGNED_IN, "referer": target})
    assert response.headers["location"] == "/"


def test_command_browser_redirect_accepts_same_origin_referer(client: Client, token: str) -> None:
    headers = {**BROWSER, **SIGNED_IN, "referer": f"{BASE_URL}/page/button?tab=2"}
    response = form_post(client, "/notes/hello", {"_csrf_token": token}, headers)
    assert response.headers["location"] == "/page/button?tab=2"


# --- form flavour -----------------------------------------------------------------------------


def test_form_flavour_fields_are_the_struct_fields(client: Client, token: str, calls: Calls) -> None:
    data = {"title": "t", "count": "5", "mood": "sad", "urgent": "on", "_csrf_token": token}
    response = client.post("/_remote/note_form", data=data, headers=HTMX)
    assert response.status_code == 200
    assert '<p class="count">5</p>' in response.text
    ((_name, args),) = calls.seen
    assert args["data"].urgent is True  # type: ignore[attr-defined]


def test_form_flavour_names_each_bad_field(client: Client, token: str) -> None:
    data = {"title": "", "count": "-3", "mood": "x", "_csrf_token": token}
    response = client.post("/_remote/note_form", data=data, headers=JSON)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "title": "Must not be empty",
        "count": "Must be at least 0",
        "mood": "Must be one of: happy, sad",
    }


def test_form_flavour_accepts_json(client: Client, token: str) -> None:
    headers = {**JSON, "x-csrftoken": token}
    response = client.post("/_remote/note_form", json={"title": "j", "count": 2}, headers=headers)
    assert response.json()["count"] == 2


# --- errors raised by the function ------------------------------------------------------------


def test_domain_error_in_three_forms(client: Client) -> None:
    as_json = client.get("/_remote/get_note?title=taken", headers=JSON)
    assert as_json.status_code == 409
    assert as_json.json() == {"error": "That title is taken"}
    as_htmx = client.get("/_remote/get_note?title=taken", headers=HTMX)
    assert as_htmx.status_code == 409
    assert as_htmx.text.startswith('<div id="error"')
    assert as_htmx.headers["hx-retarget"] == "#flashes"
    as_page = client.get("/_remote/get_note?title=taken", headers=BROWSER)
    assert as_page.status_code == 409
    assert "<html" in as_page.text and "That title is taken" in as_page.text


def test_validation_failed_from_function_is_a_field_error(client: Client, token: str) -> None:
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token}
    response = client.post("/notes/bad", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json() == {"errors": {"title": "Pick another title"}, "error": "Not that one"}


@pytest.mark.parametrize("headers", [JSON, HTMX, BROWSER], ids=["json", "htmx", "browser"])
def test_unexpected_error_is_generic_500_with_request_id(
    client: Client, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/_remote/get_note?title=boom", headers=headers)
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    request_id = response.headers["x-request-id"]
    assert request_id in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)
    assert any("secret internals" in (record.exc_text or "") for record in caplog.records)


def test_incoming_request_id_is_kept_when_safe(client: Client) -> None:
    kept = client.get("/_remote/get_note?title=a", headers={**JSON, "x-request-id": "abcd-1234-efgh"})
    assert kept.headers["x-request-id"] == "abcd-1234-efgh"
    replaced = client.get("/_remote/get_note?title=a", headers={**JSON, "x-request-id": "bad id<script>"})
    assert "<" not in replaced.headers["x-request-id"]
    assert len(replaced.headers["x-request-id"]) == 32


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_token", [None, "forged"], ids=["missing", "forged"])
def test_command_without_valid_csrf_is_403_in_three_forms(
    client: Client, calls: Calls, bad_token: str | None
) -> None:
    csrf(client)
    extra = {"x-csrftoken": bad_token} if bad_token else {}
    as_json = client.post("/notes/hello", json={}, headers={**JSON, **SIGNED_IN, **extra})
    assert as_json.status_code == 403
    assert "error" in as_json.json()
    as_htmx = client.post("/notes/hello", data={}, headers={**HTMX, **SIGNED_IN, **extra})
    assert as_htmx.status_code == 403
    assert as_htmx.text.startswith('<div id="error"')
    form = {"_csrf_token": bad_token} if bad_token else {}
    as_page = form_post(client, "/notes/hello", form, {**BROWSER, **SIGNED_IN})
    assert as_page.status_code == 403
    assert "<html" in as_page.text and "Reload the page" in as_page.text
    assert calls.seen == []


# --- rate limit (real Redis) ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [JSON, HTMX, BROWSER], ids=["json", "htmx", "browser"])
def test_rate_limit_is_429_with_retry_after(client: Client, token: str, headers: dict[str, str]) -> None:
    statuses = [
        client.post("/_remote/limited", data={"_csrf_token": token}, headers=headers, follow_redirects=False)
        for _ in range(3)
    ]
    # JSON gets the value, htmx (no partial) 204 + HX-Trigger, a plain form 303.
    assert [r.status_code for r in statuses[:2]] in ([200, 200], [204, 204], [303, 303])
    limited = statuses[2]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many requests" in limited.text


def test_rate_limit_fails_closed_when_redis_is_down(tmp_path: Path, calls: Calls) -> None:
    app = make_app(build_registry(calls), tmp_path, "redis://127.0.0.1:1/0")
    with TestClient(app=app, base_url=BASE_URL) as down:
        response = down.post("/_remote/limited", json={}, headers={**JSON, "x-csrftoken": csrf(down)})
    assert response.status_code == 503
    assert "unavailable" in response.json()["error"]
    assert calls.seen == []


# --- template helper --------------------------------------------------------------------------


def test_each_rendered_button_gets_its_own_idempotency_key_and_current_token(client: Client) -> None:
    """The button's static markup is built once; the per-render parts must not be cached with it."""
    first, second = client.get("/page/button").text, client.get("/page/button").text
    keys = [re.findall(r'name="_idempotency_key" value="([0-9a-f]{32})"', page) for page in (first, second)]
    assert len(keys[0]) == len(keys[1]) == 1 and keys[0] != keys[1]
    token = client.cookies.get("csrftoken")
    assert f'name="_csrf_token" value="{token}"' in second


def test_button_renders_htmx_attributes_and_a_real_form(client: Client) -> None:
    page = client.get("/page/button").text
    token = client.cookies.get("csrftoken")
    assert (
        '<form method="post" action="/notes/hi" class="inline" hx-post="/notes/hi" hx-target="#note" '
        'hx-swap="outerHTML" hx-disabled-elt="find button">'
    ) in page
    assert f'<input type="hidden" name="_csrf_token" value="{token}">' in page
    assert '<input type="hidden" name="next" value="/page/button">' in page
    assert '<input type="hidden" name="_idempotency_key" value="' in page
    assert '<a href="/_remote/get_note?title=x"' in page and 'hx-get="/_remote/get_note?title=x"' in page
    assert (
        '<div hx-get="/_remote/get_note" hx-target="#note" hx-swap="outerHTML" '
        'hx-vals="{&#34;title&#34;:&#34;y&#34;}" hx-trigger="every 2s"></div>'
    ) in page


def test_button_form_works_without_javascript(client: Client) -> None:
    client.get("/page/button")
    token = client.cookies.get("csrftoken")
    assert token
    data = {"_csrf_token": token, "next": "/page/button"}
    response = form_post(client, "/notes/hi", data, {**BROWSER, **SIGNED_IN})
    assert response.status_code == 303
    assert response.headers["location"] == "/page/button"


# --- OpenAPI ----------------------------------------------------------------------------------


def test_every_remote_function_is_in_the_openapi_schema(client: Client) -> None:
    schema = client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    assert {"/_remote/get_note", "/notes/{title}", "/_remote/note_form", "/_remote/limited"} <= set(paths)
    get_note = paths["/_remote/get_note"]["get"]
    params = {p["name"]: p for p in get_note["parameters"]}
    assert params["count"]["schema"]["type"] == "integer"
    assert params["title"]["required"] is True
    assert get_note["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Note"
    }
    add_note = paths["/notes/{title}"]["post"]
    body_ref = add_note["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"count", "tags"}
    assert "401" in add_note["responses"] and "422" in add_note["responses"]


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "application/x-www-form-urlencoded; charset=bogus"]
)
def test_malformed_body_is_a_client_error_not_500(client: Client, token: str, content_type: str) -> None:
    headers = {**JSON, **SIGNED_IN, "x-csrftoken": token, "content-type": content_type}
    response = client.post("/_remote/note_form", content=b'{"title": "x"}', headers=headers)
    assert 400 <= response.status_code < 500


def test_command_with_only_optional_inputs_documents_an_optional_body(client: Client) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert schema["paths"]["/notes/{title}"]["post"]["requestBody"]["required"] is False
    assert schema["paths"]["/_remote/note_form"]["post"]["requestBody"]["required"] is True


def test_attrs_of_a_command_carry_the_csrf_header_as_one_well_formed_attribute(client: Client) -> None:
    from html.parser import HTMLParser

    page = client.get("/page/button").text
    found: dict[str, str | None] = {}

    class Find(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if dict(attrs).get("id") == "post-attrs":
                found.update(attrs)

    Find().feed(page)
    assert found["hx-post"] == "/_remote/limited"
    assert json.loads(found["hx-headers"] or "") == {"x-csrftoken": client.cookies.get("csrftoken")}
