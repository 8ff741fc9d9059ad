"""Schemathesis on the served OpenAPI schema, and hypothesis over every route in the route table: no 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from litestar.routes import ASGIRoute, HTTPRoute
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import negative_data_rejection

from settings import Settings
from tests.hardening.support import csrf_headers, served_app, sign_up_and_in
from tests.support.demo import COUNTER_DEMO
from tests.support.server import RunningApp

# Per operation, mode and caller kind: 4 operations x 2 modes x 2 sessions x 50 takes about 10 s.
MAX_EXAMPLES = 50
CALLERS = {
    "json": {"accept": "application/json"},
    "htmx": {"hx-request": "true", "accept": "text/html"},
    "browser": {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
}
Operation = APIOperation[Any, Any, Any, Any]
REMOTE_OPERATIONS = {
    "GET /_remote/get_user_profile",
    "POST /_remote/update_user_profile",
    *(("GET /counter/{counter_id}", "POST /counter/{counter_id}") if COUNTER_DEMO else ()),
}
# Fuzzed: the remote functions (the JSON contract). The schema documents every route, but auth and
# account forms would sign the fuzzing session out or delete it, and answer pages, not JSON.
FUZZED = REMOTE_OPERATIONS | ({"GET /counter"} if COUNTER_DEMO else set())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(Path(tmp_path_factory.mktemp("schemathesis"))) as app:
        yield app


@pytest.fixture(scope="module")
def operations(server: RunningApp) -> list[Operation]:
    schema = schemathesis.openapi.from_url(server.base_url + "/schema/openapi.json")
    found: list[Operation] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()
        found.append(result.ok())
    return found


@pytest.fixture(scope="module")
def sessions(server: RunningApp) -> dict[str, requests.Session]:
    """Callers the way a same-origin page calls (CSRF header and Origin): signed in and signed out."""
    clients = {
        "signed-in": sign_up_and_in(server, "fuzz@example.com", name="Fuzz"),
        "signed-out": httpx.Client(base_url=server.base_url, timeout=30),
    }
    sessions: dict[str, requests.Session] = {}
    for name, client in clients.items():
        session = requests.Session()
        session.headers.update(csrf_headers(client, server.base_url))
        for cookie in client.cookies.jar:
            session.cookies.set(cookie.name, cookie.value or "")
        client.close()
        sessions[name] = session
    return sessions


def run_operation(
    server: RunningApp, session: requests.Session, operation: Operation, mode: GenerationMode
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, caller=st.sampled_from(list(CALLERS)))
    def check(case: Case[Operation], caller: str) -> None:
        # The schema documents the JSON contract; pages and partials answer a signed-out caller with a
        # redirect to sign-in whatever the input, so for them only "no 500" applies.
        json = caller == "json"
        case.call_and_validate(
            base_url=server.base_url,
            session=session,
            headers=CALLERS[caller],
            checks=[not_a_server_error, negative_data_rejection] if json else [not_a_server_error],
            timeout=10,
            allow_redirects=False,
        )

    try:
        check()
    except Unsatisfiable:
        # An operation without any input has no invalid input to send.
        has_input = bool(operation.body) or any(True for _ in operation.iter_parameters())
        if mode is not GenerationMode.NEGATIVE or has_input:
            raise


def test_schema_lists_every_remote_function(operations: list[Operation]) -> None:
    assert {op.label for op in operations} >= REMOTE_OPERATIONS


@pytest.mark.parametrize("caller", ["signed-in", "signed-out"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_schemathesis_no_server_error_and_invalid_input_refused(
    server: RunningApp,
    operations: list[Operation],
    sessions: dict[str, requests.Session],
    caller: str,
    mode: GenerationMode,
) -> None:
    for operation in operations:
        if operation.label in FUZZED:
            run_operation(server, sessions[caller], operation, mode)


# --- every route of the route table (auth forms, account, SSE, mounts: not all in the schema) ---

# Examples per route served: the sweep's reach stays the same share of the table as routes are added.
ROUTE_EXAMPLES_PER_ROUTE = 6
PARAM = re.compile(r"{(\w+)(?::\w+)?}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORM_FIELDS = [
    "name",
    "email",
    "password",
    "current_password",
    "new_password",
    "new_email",
    "confirm_email",
    "token",
    "avatar",
    "next",
    "_idempotency_key",
    "_csrf_token",
]
QUERY_NAMES = ["since", "next", "token", "email", "page", "id"]
# The classes of input that broke handlers before: numbers past every integer type, digits that
# int() does not read, non-ASCII text, huge values; next to ordinary ones so valid paths run too.
huge_digits = st.integers(19, 5000).map(lambda n: "9" * n)
nasty = st.one_of(
    st.sampled_from(["", "1", "0", "-1", "default", "github", str(2**31), str(2**63), "\u00b2", "\u0662"]),
    huge_digits,
    st.integers(min_value=2**63).map(str),
    st.text(min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), min_size=1, max_size=12),
    st.integers(1_000, 40_000).map(lambda n: "a" * n),
)
deep_json = st.integers(33, 6000).flatmap(
    lambda n: st.sampled_from(
        ["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, '{"name": ' + "[" * n + "]" * n + "}"]
    )
)
json_bodies = st.one_of(
    deep_json,
    st.dictionaries(st.sampled_from(FORM_FIELDS), nasty, max_size=4).map(
        lambda d: msgspec.json.encode(d).decode()
    ),
    huge_digits.map(lambda digits: '{"name": ' + digits + "}"),
)
HEADER_NAMES = ["last-event-id", "idempotency-key", "referer", "hx-current-url", "origin", "accept"]
# The CSRF token a request carries: its own, its own with a non-ASCII character in the secret and
# in the HMAC, none in the header (the form field may carry one), or any other text.
CSRF_CHOICES = ["own", "non-ascii", "form field only", "other"]


def route_table(server: RunningApp) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, mounted apps as `<path>/`."""
    from app import create_app

    settings = Settings(app_env="development", data_dir=server.data_dir, base_url=server.base_url)
    routes: list[tuple[str, str]] = []
    for route in create_app(settings).routes:
        if isinstance(route, ASGIRoute):
            routes.extend((method, route.path + "/") for method in ("GET", "POST"))
        elif isinstance(route, HTTPRoute):
            routes.extend((m, route.path) for m in sorted(route.methods) if m not in {"OPTIONS", "HEAD"})
    return routes


def test_every_route_answers_hostile_input_without_a_server_error(server: RunningApp) -> None:
    routes = route_table(server)
    paths = {path for _, path in routes}
    assert {"/auth/sign-in", "/account/sessions/{session_id:str}/revoke"} <= paths
    assert "/counter/{counter_id:str}/events" in paths or not COUNTER_DEMO
    client = sign_up_and_in(server, "routes@example.com", name="Routes")
    token = csrf_headers(client, server.base_url)["x-csrftoken"]
    signed_in = {cookie.name: cookie.value or "" for cookie in client.cookies.jar}
    client.close()
    anonymous = requests.Session()
    anonymous.get(server.base_url + "/auth/sign-in", timeout=10)
    signed_out = anonymous.cookies.get_dict()
    anonymous.close()
    browsers = [(signed_in, token), (signed_out, signed_out["csrftoken"])]
    seen: set[tuple[str, str]] = set()

    @settings(
        max_examples=ROUTE_EXAMPLES_PER_ROUTE * len(routes),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        route=st.sampled_from(routes),
        browser=st.sampled_from(browsers),
        caller=st.sampled_from(list(CALLERS)),
        csrf=st.sampled_from(CSRF_CHOICES),
        other_token=nasty,
        path_value=nasty,
        query=st.dictionaries(st.sampled_from(QUERY_NAMES), nasty, max_size=2),
        headers=st.dictionaries(st.sampled_from(HEADER_NAMES), nasty, max_size=3),
        as_json=st.booleans(),
        form=st.lists(st.tuples(st.sampled_from(FORM_FIELDS), nasty), max_size=5),
        json_body=json_bodies,
    )
    def check(
        route: tuple[str, str],
        browser: tuple[dict[str, str], str],
        caller: str,
        csrf: str,
        other_token: str,
        path_value: str,
        query: dict[str, str],
        headers: dict[str, str],
        as_json: bool,
        form: list[tuple[str, str]],
        json_body: str,
    ) -> None:
        method, template = route
        path = PARAM.sub(lambda _: quote(path_value, safe=""), template)
        cookies, own = browser
        submitted = {
            "own": own,
            "non-ascii": own[:10] + "\u00e9" + own[11:-1] + "\u00e9",
            "form field only": None,
            "other": other_token,
        }[csrf]
        sent = {"origin": server.base_url, **CALLERS[caller]}
        if submitted is not None:
            sent["x-csrftoken"] = submitted
        else:
            form = [*form, ("_csrf_token", own)]
        # Header values go out as UTF-8 bytes (non-ASCII as a browser sends it); no line breaks.
        raw = {k: CONTROL.sub("", v).strip().encode() for k, v in {**sent, **headers}.items()}
        body: dict[str, Any] = {}
        if method != "GET":
            if as_json:
                body = {"data": json_body.encode()}
                raw["content-type"] = b"application/json"
            else:
                body = {"data": [(k, v.encode()) for k, v in form]}
        with requests.request(
            method,
            server.base_url + path,
            params=query,
            headers=raw,
            cookies=cookies,
            timeout=30,
            allow_redirects=False,
            stream=True,  # an SSE stream that opens is closed at once
            **body,
        ) as answer:
            assert answer.status_code < 500, (method, path, query, headers, answer.status_code)
        seen.add(route)

    check()
    assert len(seen) >= len(routes) // 2, sorted(set(routes) - seen)
    assert "Traceback" not in server.output()
