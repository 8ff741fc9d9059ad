"""The counter demo's remote functions under schemathesis, like the app's own in test_schemathesis.py."""

from __future__ import annotations

import pytest
import requests
from schemathesis import GenerationMode

from tests.hardening.test_schemathesis import (
    Operation,
    fuzz,
    operations,
    route_table,
    server,
    sessions,
)
from tests.support.server import RunningApp

__all__ = ["operations", "server", "sessions"]  # the fixtures, shared with test_schemathesis.py
COUNTER_OPERATIONS = {"GET /counter/{counter_id}", "POST /counter/{counter_id}", "GET /counter"}


def test_schema_and_route_table_list_the_counter(server: RunningApp, operations: list[Operation]) -> None:
    assert {op.label for op in operations} >= COUNTER_OPERATIONS
    assert "/counter/{counter_id:str}/events" in {path for _, path in route_table(server)}


@pytest.mark.parametrize("caller", ["signed-in", "signed-out"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_counter_functions_give_no_server_error_and_refuse_invalid_input(
    server: RunningApp,
    operations: list[Operation],
    sessions: dict[str, requests.Session],
    caller: str,
    mode: GenerationMode,
) -> None:
    fuzz(server, operations, COUNTER_OPERATIONS, sessions[caller], mode)
