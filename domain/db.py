"""Database engine: SQLite by default, PostgreSQL from a postgres:// URL, bound to every table."""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

# Seconds a SQLite writer waits for the lock before failing; generous because every query
# opens its own connection and writers queue behind one another.
SQLITE_BUSY_TIMEOUT_S = 30


class _NoVersionLine(logging.Filter):
    """Drop Piccolo's "Running <db> version" line: it comes once per engine built, and for SQLite
    it shows major.minor as a float (3.40 printed as 3.4). `describe()` says it once, right."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Running ")


logging.getLogger("piccolo.engine.base").addFilter(_NoVersionLine())


def make_engine(url: str) -> Engine:  # type: ignore[type-arg]
    """An engine for `url`: `sqlite:///path` or `postgres://user@host:port/db`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else parts.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_S)
    if parts.scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"unsupported DATABASE_URL scheme {parts.scheme!r}: use sqlite:/// or postgres://")


def _all_tables(base: type[Table] = Table) -> list[type[Table]]:
    found: list[type[Table]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_all_tables(sub))
    return found


_current: Engine | None = None  # type: ignore[type-arg]


def current_engine() -> Engine:  # type: ignore[type-arg]
    """The engine last bound with bind_engine()."""
    if _current is None:
        raise RuntimeError("no database engine bound yet: call bind_engine() first")
    return _current


def bind_engine(engine: Engine) -> None:  # type: ignore[type-arg]
    """Point piccolo_conf.DB and every Table class (ours, admin's, migrations') at `engine`.

    Piccolo caches the engine on each table the first time it is used; rebinding lets one
    process (tests, the CLI) use the database its Settings name rather than the one the
    environment named at import time.
    """
    conf = importlib.import_module(os.environ.get("PICCOLO_CONF", "piccolo_conf"))
    conf.DB = engine  # type: ignore[attr-defined]
    global _current
    _current = engine
    for table in _all_tables():
        table._meta._db = engine


async def prepare(engine: Engine, *, pool_size: int = 10) -> None:  # type: ignore[type-arg]
    """Per-process setup: WAL for SQLite (readers never block the writer), a pool for Postgres."""
    if isinstance(engine, SQLiteEngine):
        # Opened once synchronously first: a file that cannot be opened raises sqlite3.Error here,
        # not inside aiosqlite's thread (which then also prints tracebacks at exit).
        sqlite3.connect(engine.connection_kwargs["database"]).close()
        await engine.run_ddl("PRAGMA journal_mode=WAL", in_pool=False)
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)


async def describe(engine: Engine) -> str:  # type: ignore[type-arg]
    """The database kind and server version, e.g. "SQLite 3.40.1" or "PostgreSQL 16.4"."""
    if isinstance(engine, SQLiteEngine):
        return f"SQLite {sqlite3.sqlite_version}"
    rows = await engine.run_ddl("SHOW server_version", in_pool=True)
    return f"PostgreSQL {rows[0]['server_version']}" if rows else "PostgreSQL"


async def close(engine: Engine) -> None:  # type: ignore[type-arg]
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def ping(engine: Engine) -> None:  # type: ignore[type-arg]
    """Raise if the database does not answer a trivial query."""
    await engine.run_ddl("SELECT 1", in_pool=isinstance(engine, PostgresEngine))
