"""Readiness runs a real actor script; the app says at start whether Redis keeps acknowledged writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis as redis_sync
from litestar import Litestar
from litestar.testing import TestClient

from actors.embedded import EmbeddedRedis
from app import create_app
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.web.auth_support import signed_in_user


def acl(client: redis_sync.Redis, *rules: str) -> None:
    """Change what the app's (default) Redis user may run."""
    client.execute_command("ACL", "SETUSER", "default", *rules)  # type: ignore[no-untyped-call]


@pytest.fixture
def admin_redis(redis_server: EmbeddedRedis, redis_url: str) -> Iterator[redis_sync.Redis]:
    """A direct connection to the shared test Redis; whatever a test changes is put back."""
    client = redis_sync.Redis(unix_socket_path=str(redis_server.socket_path))
    saved = {name: str(client.config_get(name)[name]) for name in ("appendonly", "maxmemory-policy")}
    try:
        yield client
    finally:
        acl(client, "+@all")
        for name, value in saved.items():
            client.config_set(name, value)
        client.close()


def test_readyz_is_503_when_redis_answers_ping_but_cannot_run_scripts(
    client: TestClient[Litestar], admin_redis: redis_sync.Redis
) -> None:
    assert client.get("/readyz").status_code == 200
    acl(admin_redis, "-eval", "-evalsha", "-script")
    assert admin_redis.ping()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["redis"].startswith("down")
    acl(admin_redis, "+@all")
    assert client.get("/readyz").status_code == 200


def test_readyz_after_script_flush_reloads_and_is_ready(
    client: TestClient[Litestar], admin_redis: redis_sync.Redis
) -> None:
    assert client.get("/readyz").status_code == 200
    admin_redis.script_flush()
    assert client.get("/readyz").status_code == 200
    signed_in_user(client, "ada@example.com")  # a signed-in page reads the preferences actor: a script
    assert client.get("/", headers={"accept": "text/html"}).status_code == 200


def start_and_stop(settings: Settings, capfd: pytest.CaptureFixture[str]) -> str:
    """What the app logged while starting and stopping (Litestar's logging config writes to stderr)."""
    logging.getLogger("remote_stack").setLevel(logging.INFO)
    with TestClient(create_app(settings), base_url=TEST_BASE_URL):
        pass
    captured = capfd.readouterr()
    return captured.out + captured.err


def test_app_start_logs_redis_durability_ok(settings: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    assert "redis durability: ok (AOF on, maxmemory-policy noeviction)" in start_and_stop(settings, capfd)


def test_app_start_warns_when_aof_is_off_and_redis_may_evict(
    settings: Settings, admin_redis: redis_sync.Redis, capfd: pytest.CaptureFixture[str]
) -> None:
    admin_redis.config_set("appendonly", "no")
    admin_redis.config_set("maxmemory-policy", "allkeys-lru")
    logged = start_and_stop(settings, capfd)
    assert "WARNING" in logged and "redis durability: Redis AOF is off" in logged, logged
    assert "redis durability: Redis maxmemory-policy is allkeys-lru" in logged, logged
