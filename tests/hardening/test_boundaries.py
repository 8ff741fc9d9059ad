"""HX-Request is no boundary: handlers check sign-in themselves; htmx answers vary; htmx is locked down."""

from __future__ import annotations

import json
import re

import pytest
from litestar.routes import HTTPRoute

from actors.keys import InvalidActorId, validate_id
from tests.conftest import TEST_BASE_URL
from tests.support.demo import COUNTER_DEMO, needs_counter_demo
from tests.web.admin_support import signed_in_member
from tests.web.auth_support import Client, csrf_token, fast_hashing, signed_in_user

# Unsafe routes a signed-out visitor may use; every other one must ask for sign-in first.
PUBLIC_UNSAFE = {
    "/auth/forgot-password",
    "/auth/resend-verification",
    "/auth/reset-password",
    "/auth/sign-in",
    "/auth/sign-out",
    "/auth/sign-up",
    "/auth/verify",
    # The second sign-in step: its caller is not signed in yet; it answers for the held sign-in only.
    "/auth/two-factor",
    # Asking for a sign-in link, and confirming one on another device: signed-out callers by nature.
    "/auth/magic-link/send",
    "/auth/magic-link",
    # Passkey sign-in and sign-up (options, then the authenticator's answer).
    "/auth/passkey",
    "/auth/passkey/options",
    "/auth/sign-up/passkey",
    "/auth/sign-up/passkey/options",
}
SIGNED_IN_READS = {"/account", "/_remote/get_user_profile", "/admin-tools/actors", "/admin/"}
ADMIN_ONLY = {("GET", "/admin-tools/actors"), ("POST", "/admin-tools/actors/reset"), ("GET", "/admin/")}
PATH_VALUES = {"provider": "github", "session_id": "1", "passkey_id": "1", "counter_id": "default"}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")
SAME_ORIGIN = {"origin": TEST_BASE_URL, "sec-fetch-site": "same-origin"}


def unsafe_routes(client: Client) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = PARAM.sub(lambda m: PATH_VALUES.get(m.group(1), "x"), route.path)
        found.extend(
            (method, path) for method in route.methods if method in {"POST", "PUT", "PATCH", "DELETE"}
        )
    return sorted(found)


def asks_for_sign_in(status: int, headers: dict[str, str]) -> bool:
    return status == 401 or headers.get("hx-redirect", "").startswith("/auth/sign-in")


def test_every_unsafe_route_checks_sign_in_itself_for_htmx_and_json_callers(client: Client) -> None:
    routes = unsafe_routes(client)
    assert ("POST", "/account/profile") in routes
    assert ("POST", "/counter/default") in routes or not COUNTER_DEMO
    token = csrf_token(client)
    for method, path in routes:
        if path in PUBLIC_UNSAFE:
            continue
        for accept in ({"hx-request": "true"}, {"accept": "application/json"}):
            headers = {**SAME_ORIGIN, **accept, "x-csrftoken": token}
            answer = client.request(method, path, headers=headers, data={"_csrf_token": token})
            shown = {k.lower(): v for k, v in answer.headers.items()}
            assert asks_for_sign_in(answer.status_code, shown), (method, path, accept, answer.status_code)


@pytest.mark.parametrize("path", sorted(SIGNED_IN_READS))
def test_signed_in_reads_check_sign_in_for_htmx_callers(client: Client, path: str) -> None:
    answer = client.get(path, headers={"hx-request": "true"}, follow_redirects=False)
    shown = {k.lower(): v for k, v in answer.headers.items()}
    assert asks_for_sign_in(answer.status_code, shown), (path, answer.status_code)


def test_admin_routes_refuse_members_whatever_the_headers(client: Client) -> None:
    signed_in_member(client)
    token = csrf_token(client)
    for method, path in sorted(ADMIN_ONLY):
        headers = {**SAME_ORIGIN, "hx-request": "true", "x-csrftoken": token}
        answer = client.request(method, path, headers=headers, data={"_csrf_token": token})
        assert answer.status_code == 403, (method, path, answer.status_code)


def test_answers_that_differ_for_htmx_say_vary_hx_request(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, "vary@example.com")
    paths = [
        "/",
        "/counter/default",
        "/counter/bad%20id",
        "/account",
        "/_remote/get_user_profile",
        "/auth/forgot-password",
        "/auth/resend-verification",
        "/no/such/page",
    ]
    checked = 0
    for path in paths:
        page = client.get(path, headers={"accept": "text/html"})
        partial = client.get(path, headers={"accept": "text/html", "hx-request": "true"})
        if page.text == partial.text:
            continue
        checked += 1
        for answer in (page, partial):
            assert "hx-request" in answer.headers.get("vary", "").lower(), (path, answer.status_code)
    assert checked >= 4


def test_htmx_is_configured_self_requests_only_without_eval_or_history_cache(client: Client) -> None:
    page = client.get("/", headers={"accept": "text/html"}).text
    match = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", page)
    assert match, "no htmx-config meta tag"
    config = json.loads(match.group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["historyCacheSize"] == 0
    assert config.get("allowScriptTags") is False


@needs_counter_demo
@needs_counter_demo
def test_double_submitted_increment_button_applies_once(client: Client) -> None:
    """The key the rendered button carries makes a double click (or an htmx retry) one increment."""
    fast_hashing(client)
    signed_in_user(client, "double@example.com")
    page = client.get("/counter/double", headers={"accept": "text/html"}).text
    key = re.search(r'name="_idempotency_key" value="([^"]+)"', page)
    assert key, "the increment button carries no idempotency key"
    token = csrf_token(client)
    form = {"_csrf_token": token, "_idempotency_key": key.group(1)}
    headers = {**SAME_ORIGIN, "hx-request": "true", "x-csrftoken": token}
    answers = [client.post("/counter/double", data=form, headers=headers) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    assert client.get("/counter/double", headers={"accept": "application/json"}).json()["count"] == 1


# One of each class of input that made a 500 somewhere, sent to every route (hypothesis in
# test_schemathesis.py mixes them at random; this makes sure no route misses one).
HUGE_DIGITS = "9" * 4301
DEEP_JSON = "[" * 5000 + "]" * 5000
HOSTILE: dict[str, dict[str, str]] = {
    "path past int32": {"path": str(2**31)},
    "path past int64": {"path": str(2**63)},
    "path of 4,301 digits": {"path": HUGE_DIGITS},
    "path digit int() cannot read": {"path": "\u00b2"},
    "path name past the OS limit": {"path": "\u00e9" * 300},
    "since of 4,301 digits": {"query": f"since={HUGE_DIGITS}"},
    "Last-Event-ID of 4,301 digits": {"last-event-id": HUGE_DIGITS},
    "non-ASCII CSRF header": {"csrf": "header"},
    "non-ASCII CSRF field": {"csrf": "field"},
    "JSON 5,000 deep": {"json": DEEP_JSON},
    "JSON integer of 4,301 digits": {"json": '{"name": ' + HUGE_DIGITS + "}"},
    "64 KB headers": {"oversized": "x" * 65536},
}


def every_route(client: Client) -> list[tuple[str, str]]:
    found = [
        (method, route.path)
        for route in client.app.routes
        if isinstance(route, HTTPRoute)
        for method in sorted(route.methods)
        if method not in {"OPTIONS", "HEAD"}
    ]
    # Signing out ends the session the rest of the sweep runs in.
    return sorted(found, key=lambda r: r == ("POST", "/auth/sign-out"))


def hostile_request(client: Client, method: str, template: str, case: dict[str, str]) -> int:
    token = csrf_token(client)
    odd = (token[:10] + "\u00e9" + token[11:-1] + "\u00e9").encode()
    path = PARAM.sub(lambda m: case.get("path", PATH_VALUES.get(m.group(1), "x")), template)
    headers = {k.encode(): v.encode() for k, v in {**SAME_ORIGIN, "accept": "application/json"}.items()}
    headers[b"x-csrftoken"] = odd if case.get("csrf") == "header" else token.encode()
    form = {"name": "x", "email": "x@example.com", "password": "x"}
    if case.get("csrf") == "field":
        del headers[b"x-csrftoken"]
        form["_csrf_token"] = odd.decode()
    if "last-event-id" in case:
        headers[b"last-event-id"] = case["last-event-id"].encode()
    if "oversized" in case:
        for name in (b"referer", b"hx-current-url", b"idempotency-key", b"user-agent"):
            headers[name] = case["oversized"].encode()
    url = f"{path}?{case['query']}" if "query" in case else path
    if "json" in case and method != "GET":
        headers[b"content-type"] = b"application/json"
        return client.request(method, url, content=case["json"], headers=headers).status_code
    data = form if method != "GET" else None
    return client.request(method, url, data=data, headers=headers, follow_redirects=False).status_code


def opens_a_stream(method: str, template: str, case: dict[str, str]) -> bool:
    """A valid request to the SSE route streams forever; the in-process client would wait for its end."""
    if method != "GET" or not template.endswith("/events") or {"query", "last-event-id"} & set(case):
        return False
    if "{" not in template:  # a per-user stream (the signed-in user's own actor): no id to refuse
        return True
    try:
        validate_id(case.get("path", "default"))
    except InvalidActorId:
        return False
    return True


def test_every_route_answers_each_class_of_hostile_input_without_a_server_error(client: Client) -> None:
    fast_hashing(client)
    routes = every_route(client)
    assert ("POST", "/account/sessions/{session_id:str}/revoke") in routes
    # Signed in first: the signed-out sweep's wrong sign-ins would rate-limit this client's own.
    signed_in_user(client, "sweep@example.com")
    for signed_in in (True, False):
        assert (client.get("/account", follow_redirects=False).status_code == 200) is signed_in
        for method, template in routes:
            for name, case in HOSTILE.items():
                if opens_a_stream(method, template, case):
                    continue
                status = hostile_request(client, method, template, case)
                assert status < 500, (signed_in, method, template, name, status)
