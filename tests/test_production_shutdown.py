"""Graceful shutdown of `app.py serve`: in-flight requests finish, exit 0, embedded Redis stopped last."""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from actors.connection import create_redis
from actors.embedded import EmbeddedRedis
from actors.preferences import Preferences, PreferencesActor
from tests.support.server import free_port, redis_pids_for, start_app, stop_app, wait_until
from tests.support.signin import PASSWORD, browser, csrf_of, signed_in, user_id_of
from tests.web.test_metrics import sample

pytestmark = [pytest.mark.slow]

JSON = {"Accept": "application/json"}
IN_FLIGHT = 6
UPDATE = "/_remote/update_preferences"
LOCALE = {"language": "en", "timezone": "UTC"}


def read_preferences(data_dir: Path, user_id: str) -> Preferences:
    """A user's preferences as the AOF restores them: a fresh redis-server on the stopped app's data."""

    async def read(url: str) -> Preferences:
        redis = create_redis(url)
        try:
            return await PreferencesActor(redis).get(user_id)
        finally:
            await redis.aclose()

    with EmbeddedRedis(data_dir) as server:
        return asyncio.run(read(server.url))


def test_sigterm_finishes_in_flight_requests_and_stops_redis_last(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"BASE_URL": base, "METRICS_ENABLED": "true", "AUTH_ATTEMPTS_PER_MINUTE": "1000"}
    app = start_app(data, env=env, port=port)
    try:
        user = signed_in(base, data, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_of(user)}
        themes = ["dark", "light", "system", "dark", "light"]
        acknowledged = [
            user.post(UPDATE, data={**LOCALE, "theme": theme}, headers=headers).json()["version"]
            for theme in themes
        ]
        assert acknowledged == [1, 2, 3, 4, 5]
        user_id = user_id_of(user)

        posting = threading.Event()
        ready = threading.Barrier(IN_FLIGHT, action=posting.set)

        def slow_sign_in(_: int) -> int:
            with browser(base) as other:
                fields = {"email": "ada@example.com", "password": PASSWORD, "_csrf_token": csrf_of(other)}
                ready.wait(timeout=20)
                # argon2 makes each sign-in take a while: these are in flight when SIGTERM lands.
                # No redirect following: the listener is closed by the time the answer arrives.
                return other.post("/auth/sign-in", data=fields, follow_redirects=False).status_code

        def in_progress() -> float:
            return sample(httpx.get(base + "/metrics", timeout=5).text, "http_requests_in_progress")

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            futures = [pool.submit(slow_sign_in, n) for n in range(IN_FLIGHT)]
            wait_until(posting.is_set, 20, "every client loaded the sign-in page")
            wait_until(lambda: in_progress() >= IN_FLIGHT, 20, "every sign-in post in flight")
            app.process.send_signal(signal.SIGTERM)
            statuses = [future.result(timeout=60) for future in futures]
        # Every in-flight request got its whole answer: signed in (303), or refused by the argon2
        # concurrency cap while queued (503, a complete response too); none was cut off.
        assert set(statuses) <= {303, 503} and 303 in statuses, statuses
        assert app.process.wait(timeout=30) == 0
    finally:
        stop_app(app)
    assert redis_pids_for(data) == []
    log = app.output()
    assert "embedded Redis stopped" in log
    # Redis went down after the server had finished (its last line is the embedded Redis one).
    assert log.rstrip().splitlines()[-1].endswith("embedded Redis stopped")
    kept = read_preferences(data, user_id)
    assert (kept.version, kept.theme) == (5, "light")
