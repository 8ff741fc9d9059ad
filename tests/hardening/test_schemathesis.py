"""Schemathesis against the served OpenAPI schema: no input makes a 500, invalid input is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import negative_data_rejection

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
