"""Redis stopped mid-run: 503s where it is needed, other pages work, /readyz says so, and it recovers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from actors.embedded import EmbeddedRedis
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.server import free_port, wait_until
from tests.web.auth_support import fast_hashing, post_form, signed_in_user

JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}
UPDATE = "/_remote/update_preferences"


def choice(theme: str) -> dict[str, str]:
    return {"theme": theme, "language": "en", "timezone": "UTC"}


@pytest.fixture
def tcp_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private redis-server on a TCP port (as an external REDIS_URL would be), with AOF."""
    server = EmbeddedRedis(tmp_path / "redis-data", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_client(settings: Settings, tcp_redis: EmbeddedRedis) -> Iterator[TestClient[Litestar]]:
    """A signed-in user of an app whose actors live on `tcp_redis`."""
    from app import create_app

    configured = settings.with_overrides(redis_url=f"redis://127.0.0.1:{tcp_redis.port}/0")
    with TestClient(create_app(configured), base_url=TEST_BASE_URL) as client:
        fast_hashing(client)
        signed_in_user(client, "ada@example.com")
        yield client


def save(client: TestClient[Litestar], theme: str, headers: dict[str, str]) -> httpx.Response:
    return post_form(client, UPDATE, choice(theme), headers=headers)


def test_redis_outage_gives_503s_keeps_other_pages_and_recovers(
    outage_client: TestClient[Litestar], tcp_redis: EmbeddedRedis
) -> None:
    client = outage_client
    assert save(client, "dark", JSON).json()["version"] == 1
    assert client.get("/readyz").json() == {"database": "ok", "redis": "ok"}

    tcp_redis.stop()

    as_json = save(client, "light", JSON)
    assert as_json.status_code == 503
    assert "try again" in as_json.json()["error"].lower()
    assert as_json.headers["retry-after"]
    as_htmx = save(client, "light", HTMX)
    assert as_htmx.status_code == 503 and "<html" not in as_htmx.text
    assert as_htmx.headers["hx-retarget"] == "#flashes"
    as_page = save(client, "light", {})
    assert as_page.status_code == 503 and "<html" in as_page.text
    assert "try again" in as_page.text.lower()

    # Pages that do not need Redis still work; readiness names what is down.
    assert client.get("/").status_code == 200
    assert client.get("/account").status_code == 200
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok" and ready.json()["redis"].startswith("down")

    # Same port, same data directory: the AOF brings the state back; the app reconnects by itself.
    tcp_redis.start()
    wait_until(lambda: client.get("/readyz").status_code == 200, 30, "/readyz recovered")
    after = save(client, "light", JSON).json()
    assert after["version"] == 2 and after["theme"] == "light"


def test_redis_outage_answers_quickly(outage_client: TestClient[Litestar], tcp_redis: EmbeddedRedis) -> None:
    """A refused connection fails after redis-py's short retries, not after a long timeout."""
    tcp_redis.stop()
    response = save(outage_client, "dark", JSON)
    assert response.status_code == 503
    assert response.elapsed.total_seconds() < 5


def test_outage_mid_run_against_a_served_app(tmp_path: Path, tcp_redis: EmbeddedRedis) -> None:
    """The same over real HTTP with `python app.py serve` (granian), where the connection pool is real."""
    from tests.support.server import running_app
    from tests.support.signin import csrf_of, signed_in

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"REDIS_URL": f"redis://127.0.0.1:{tcp_redis.port}/0", "BASE_URL": base}
    with running_app(tmp_path / "data", env=env, port=port) as app:
        user = signed_in(base, app.data_dir, "ada@example.com")
        headers = {**JSON, "x-csrftoken": csrf_of(user)}

        def saved(theme: str) -> httpx.Response:
            return user.post(UPDATE, data=choice(theme), headers=headers)

        assert saved("dark").json()["version"] == 1
        tcp_redis.stop()
        assert saved("light").status_code == 503
        assert app.get("/").status_code == 200
        assert app.get("/readyz").status_code == 503
        tcp_redis.start()

        def recovered() -> bool:
            try:
                return saved("light").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(recovered, 30, "the served app answered from Redis again")
        assert saved("system").json()["version"] == 3
        user.close()
