"""The app's embedded server killed mid-run: restarted on the same AOF, no acknowledged write lost."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar.testing import TestClient

from actors.preferences import PreferencesActor
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.server import free_port, redis_pids_for, start_app, stop_app, wait_until
from tests.support.signin import csrf_of, signed_in, user_id_of
from tests.support.streams import current_version
from tests.web.auth_support import csrf_token, fast_hashing, run, signed_in_user, user_id

JSON = {"Accept": "application/json"}
N = 20
UPDATE = "/_remote/update_preferences"
EVENTS = "/account/preferences/events"
THEMES = ("dark", "light", "system")


def choice(n: int) -> dict[str, str]:
    """The n-th save: each one a change (the version counts saves, so N saves make version N)."""
    return {"theme": THEMES[n % len(THEMES)], "language": "en", "timezone": "UTC"}


def kill_and_wait_for_restart(data_dir: Path, read_count: Callable[[], tuple[int, int | None]]) -> list[int]:
    """SIGKILL the one embedded server, then poll the app until a new one answers; the statuses seen."""
    (killed,) = redis_pids_for(data_dir)
    os.kill(killed, signal.SIGKILL)
    statuses: list[int] = []

    def answers_from_a_new_server() -> bool:
        status, version = read_count()
        statuses.append(status)
        pids = redis_pids_for(data_dir)
        return status == 200 and version is not None and len(pids) == 1 and pids[0] != killed

    wait_until(answers_from_a_new_server, 10, "the app answered from a restarted embedded server")
    return [killed, *statuses]


@pytest.mark.slow
def test_served_app_restarts_its_killed_server_and_keeps_every_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Two workers: the server belongs to the parent process, which alone restarts it. Polling the
    # live view opens many streams in a row: the per-client cap must not refuse the reads.
    env = {"BASE_URL": base, "AUTH_ATTEMPTS_PER_MINUTE": "1000", "MAX_STREAMS_PER_CLIENT": "1000"}
    app = start_app(data, "--workers", "2", env=env, port=port)
    try:
        user = signed_in(base, data, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_of(user)}
        acknowledged = [
            user.post(UPDATE, data=choice(n), headers=headers).json()["version"] for n in range(N)
        ]
        assert acknowledged == list(range(1, N + 1))

        def read_count() -> tuple[int, int | None]:
            return current_version(user, EVENTS)

        killed, *statuses = kill_and_wait_for_restart(data, read_count)
        # Meanwhile: answers from Redis (redis-py retried through the gap), a stream that ends with
        # its retry hint before any state, or the clean 503; never a 500 or a dropped connection.
        assert set(statuses) <= {200, 503}, statuses
        assert read_count() == (200, N)
        (restarted,) = redis_pids_for(data)
        wait_until(lambda: "restarted as pid" in app.output(), 5, "the restart was logged")
        assert f"pid {killed} died (killed by SIGKILL); restarted as pid {restarted}" in app.output()
        assert user.post(UPDATE, data=choice(N), headers=headers).json()["version"] == N + 1
        assert user_id_of(user)  # the session, kept in the database, outlived the server too
    finally:
        assert stop_app(app) == 0
    # Shutdown stopped the server for good: nothing restarted it.
    assert redis_pids_for(data) == []
    assert app.output().count("restarted as pid") == 1


def test_lifespan_restarts_its_killed_server_and_keeps_every_write(settings: Settings) -> None:
    from app import create_app

    own = settings.with_overrides(redis_url=None)  # the lifespan starts and supervises the server
    with TestClient(create_app(own), base_url=TEST_BASE_URL) as client:
        fast_hashing(client)
        signed_in_user(client, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_token(client)}
        acknowledged = [
            client.post(UPDATE, data=choice(n), headers=headers).json()["version"] for n in range(N)
        ]
        assert acknowledged == list(range(1, N + 1))
        actor = client.app.state.services.actor(PreferencesActor)
        ada = str(user_id(client, "ada@example.com"))

        def read_count() -> tuple[int, int | None]:
            # The test client buffers whole answers, so it cannot read a stream: readiness says
            # whether Redis answers, and the app's own actor reads the state it holds.
            status = client.get("/readyz").status_code
            return status, run(client, actor.get, ada).version if status == 200 else None

        _, *statuses = kill_and_wait_for_restart(own.data_dir, read_count)
        assert set(statuses) <= {200, 503}, statuses
        assert read_count() == (200, N)
        assert client.post(UPDATE, data=choice(N), headers=headers).json()["version"] == N + 1
    assert redis_pids_for(own.data_dir) == []
