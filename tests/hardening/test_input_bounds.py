"""Inputs past every bound (huge numbers, deep JSON) answer a 4xx in the caller's form, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from domain.auth.tables import Session
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.web.auth_support import Client, csrf_token, fast_hashing, run, signed_in_user
from web.remote import REGISTRY

SAME_ORIGIN = {"origin": TEST_BASE_URL}
JSON = {"accept": "application/json"}
HTMX = {"hx-request": "true"}
HUGE = "1" * 4301  # one digit past Python's int() limit for a string


@pytest.fixture(params=["sqlite", "postgres"])
def db_client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Client]:
    """The real app on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    from app import create_app

    if request.param == "postgres":
        settings = settings.with_overrides(database_url=request.getfixturevalue("postgres_url"))
    with TestClient(app=create_app(settings), base_url=TEST_BASE_URL) as client:
        fast_hashing(client)
        yield client


@pytest.mark.parametrize("session_id", [2**31, 2**63, 10**30])
def test_revoke_session_id_past_the_id_column_is_422(db_client: Client, session_id: int) -> None:
    signed_in_user(db_client, "ada@example.com")
    headers = {**SAME_ORIGIN, "x-csrftoken": csrf_token(db_client)}
    path = f"/account/sessions/{session_id}/revoke"
    answer = db_client.post(path, headers={**headers, **JSON})
    assert answer.status_code == 422, answer.text
    assert "session_id" in answer.json()["errors"]
    partial = db_client.post(path, headers={**headers, **HTMX})
    assert 400 <= partial.status_code < 500 and "<html" not in partial.text
    assert run(db_client, Session.count) == 1
    assert db_client.get("/account", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (f"?since={HUGE}", {}),
        ("", {"last-event-id": HUGE}),
        ("?since=%C2%B2", {}),  # "²": a digit to str.isdigit(), not to int()
    ],
)
def test_sse_version_past_a_version_number_is_422(
    client: Client, query: str, headers: dict[str, str]
) -> None:
    signed_in_user(client, "ada@example.com")
    answer = client.get(f"/account/preferences/events{query}", headers={**JSON, **headers})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"], answer.text
    assert client.get("/dev/live").json()["stream_slots"] == 0  # a refused stream holds no slot


def test_json_nested_5000_deep_is_422_on_every_command(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    headers = {**SAME_ORIGIN, "x-csrftoken": csrf_token(client), "content-type": "application/json"}
    deep = "[" * 5000 + "]" * 5000
    commands = [rf for rf in REGISTRY if rf.method == "POST"]
    assert commands
    for rf in commands:
        url = rf.url(**{f.name: "default" for f in rf.path_fields})
        answer = client.post(url, content=deep, headers={**headers, **JSON})
        assert answer.status_code == 422, (rf.name, answer.text)
        assert answer.json()["errors"]["body"] == "Must not be nested more than 32 levels deep"
        inside = client.post(url, content='{"name": ' + deep + "}", headers={**headers, **HTMX})
        assert inside.status_code == 422, (rf.name, inside.text)


@pytest.mark.parametrize("name", ["app.css/x", "a" * 300, "%00", "a%00b"])
def test_static_path_no_file_could_have_is_404(client: Client, name: str) -> None:
    """A file used as a directory, a name past the OS limit, a NUL byte: nothing there, not a crash."""
    answer = client.get(f"/static/{name}", headers=JSON)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]
