"""The app's embedded server killed mid-run: restarted on the same AOF, no acknowledged write lost."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar.testing import TestClient

from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.server import free_port, redis_pids_for, start_app, stop_app, wait_until
from tests.support.signin import csrf_of, signed_in
from tests.web.auth_support import csrf_token, fast_hashing, signed_in_user

JSON = {"Accept": "application/json"}
N = 20


def kill_and_wait_for_restart(data_dir: Path, read_count: Callable[[], tuple[int, int | None]]) -> list[int]:
    """SIGKILL the one embedded server, then poll the app until a new one answers; the statuses seen."""
    (killed,) = redis_pids_for(data_dir)
    os.kill(killed, signal.SIGKILL)
    statuses: list[int] = []

    def answers_from_a_new_server() -> bool:
        status, _ = read_count()
        statuses.append(status)
        pids = redis_pids_for(data_dir)
        return status == 200 and len(pids) == 1 and pids[0] != killed

    wait_until(answers_from_a_new_server, 10, "the app answered from a restarted embedded server")
    return [killed, *statuses]


@pytest.mark.slow
def test_served_app_restarts_its_killed_server_and_keeps_every_increment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Two workers: the server belongs to the parent process, which alone restarts it.
    app = start_app(
        data, "--workers", "2", env={"BASE_URL": base, "AUTH_ATTEMPTS_PER_MINUTE": "1000"}, port=port
    )
    try:
        user = signed_in(base, data, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_of(user)}
        acknowledged = [user.post("/counter/kept", headers=headers).json()["count"] for _ in range(N)]
        assert acknowledged == list(range(1, N + 1))

        def read_count() -> tuple[int, int | None]:
            response = user.get("/counter/kept", headers=JSON)
            return response.status_code, response.json().get("count")

        killed, *statuses = kill_and_wait_for_restart(data, read_count)
        # Meanwhile: answers from Redis (redis-py retried through the gap) or the clean 503, never a 500.
        assert set(statuses) <= {200, 503}, statuses
        assert read_count() == (200, N)
        (restarted,) = redis_pids_for(data)
        wait_until(lambda: "restarted as pid" in app.output(), 5, "the restart was logged")
        assert f"pid {killed} died (killed by SIGKILL); restarted as pid {restarted}" in app.output()
        assert user.post("/counter/kept", headers=headers).json()["count"] == N + 1
    finally:
        assert stop_app(app) == 0
    # Shutdown stopped the server for good: nothing restarted it.
    assert redis_pids_for(data) == []
    assert app.output().count("restarted as pid") == 1


def test_lifespan_restarts_its_killed_server_and_keeps_every_increment(settings: Settings) -> None:
    from app import create_app

    own = settings.with_overrides(redis_url=None)  # the lifespan starts and supervises the server
    with TestClient(create_app(own), base_url=TEST_BASE_URL) as client:
        fast_hashing(client)
        signed_in_user(client, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_token(client)}
        acknowledged = [client.post("/counter/kept", headers=headers).json()["count"] for _ in range(N)]
        assert acknowledged == list(range(1, N + 1))

        def read_count() -> tuple[int, int | None]:
            response = client.get("/counter/kept", headers=JSON)
            return response.status_code, response.json().get("count")

        _, *statuses = kill_and_wait_for_restart(own.data_dir, read_count)
        assert set(statuses) <= {200, 503}, statuses
        assert read_count() == (200, N)
    assert redis_pids_for(own.data_dir) == []
