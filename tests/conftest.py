"""Shared fixtures: a private embedded Redis for the session, per-test data dirs and apps."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from litestar import Litestar
from litestar.testing import TestClient

from actors.embedded import EmbeddedRedis
from settings import Settings

os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")

TEST_SECRET = "qv8WfKG7biPblkZMno6pcOPImsW86XJC2hX9qFIp5EQ"
TEST_BASE_URL = "http://testserver.local"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One embedded redis-server for the whole run (ours alone, so flushing it is fine)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    """The embedded server's URL, emptied before each test."""
    client = redis_sync.Redis(unix_socket_path=str(redis_server.socket_path))
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once: each test's app starts from a copy.

    The app's lifespan still runs `migrate()` (it finds nothing pending), so a test of the
    migrations themselves uses its own database (tests/domain/test_migrations.py).
    """
    from domain import db
    from domain.migrations import migrate

    data_dir = tmp_path_factory.mktemp("migrated")
    path = data_dir / "app.sqlite3"

    async def run() -> None:
        engine = db.make_engine(f"sqlite:///{path}")
        db.bind_engine(engine)
        await db.prepare(engine)
        await migrate(engine, data_dir)
        await db.close(engine)

    asyncio.run(run())
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, migrated_sqlite: Path) -> Settings:
    """Development settings on a fresh (migrated) SQLite file and the shared embedded Redis."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(migrated_sqlite, data_dir / "app.sqlite3")
    return Settings(
        app_env="development",
        data_dir=data_dir,
        redis_url=redis_url,
        auth_secret=TEST_SECRET,
        base_url=TEST_BASE_URL,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    from app import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """A sync test client with the app's lifespan running (migrations applied)."""
    with TestClient(app=app, base_url=TEST_BASE_URL) as test_client:
        yield test_client


def external_redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: no external Redis to test against")
    return url


@pytest.fixture
def postgres_db_prefix() -> str:
    """The name prefix of postgres_url's databases; a module may override it to tell its own apart."""
    return "rstack_test"


@pytest.fixture
def postgres_url(postgres_db_prefix: str) -> Iterator[str]:
    """A throwaway PostgreSQL database (<prefix>_<random>) created and dropped around a test."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    from bench.common import throwaway_database

    with throwaway_database(base, postgres_db_prefix) as url:
        yield url
