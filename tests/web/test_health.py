"""Health probes: /healthz always, /readyz names what is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from actors.embedded import EmbeddedRedis
from settings import Settings
from tests.conftest import TEST_BASE_URL, TEST_SECRET


def test_healthz_answers_ok(client: TestClient[Litestar]) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/ping"])
def test_probes_set_no_cookie_while_pages_still_hand_out_a_csrf_token(
    client: TestClient[Litestar], path: str
) -> None:
    probe = client.get(path)
    assert probe.status_code == 200
    assert "set-cookie" not in probe.headers
    assert not client.cookies
    page = client.get("/auth/sign-in")
    assert page.status_code == 200
    assert page.cookies.get("csrftoken")


def test_readyz_reports_database_and_redis_ok(client: TestClient[Litestar]) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "own")
    server.start()
    yield server
    server.stop()


def test_readyz_names_redis_when_it_is_down_and_pages_still_render(
    tmp_path: Path, own_redis: EmbeddedRedis
) -> None:
    from app import create_app

    settings = Settings(
        data_dir=tmp_path / "data", redis_url=own_redis.url, auth_secret=TEST_SECRET, base_url=TEST_BASE_URL
    )
    with TestClient(app=create_app(settings), base_url=TEST_BASE_URL) as client:
        assert client.get("/readyz").status_code == 200
        own_redis.stop()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["database"] == "ok"
        assert response.json()["redis"].startswith("down")
        assert client.get("/healthz").status_code == 200
        assert client.get("/auth/sign-in").status_code == 200
        own_redis.start()
        assert client.get("/readyz").status_code == 200
