"""Run Piccolo migrations once, under a lock, however many processes or machines start at once."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

log = logging.getLogger(__name__)

# Arbitrary constant shared by every process of this app: the advisory lock's name.
PG_LOCK_KEY = 0x52535441434B  # "RSTACK"


class MigrationError(RuntimeError):
    """Migrations failed; the message names the step."""


@contextlib.asynccontextmanager
async def _migration_lock(engine: Engine, lock_dir: Path) -> AsyncIterator[None]:  # type: ignore[type-arg]
    if isinstance(engine, PostgresEngine):
        # A database lock, so workers on several machines agree too.
        conn = await asyncpg.connect(**engine.config)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", PG_LOCK_KEY)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", PG_LOCK_KEY)
        finally:
            await conn.close()
        return
    # SQLite lives on one machine: an exclusive file lock beside it is enough.
    lock_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once per start, before serving
    with open(lock_dir / "migrate.lock", "w") as handle:  # noqa: ASYNC230
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def pending_migrations() -> list[tuple[str, str]]:
    """(app, migration id) pairs not yet applied, in order."""
    manager = BaseMigrationManager()
    await manager.create_migration_table()
    pending: list[tuple[str, str]] = []
    for app_name in manager.get_sorted_app_names():
        app_config = manager.get_app_config(app_name)
        applied = set(await Migration.get_migrations_which_ran(app_name=app_name))
        modules = manager.get_migration_modules(app_config.resolved_migrations_folder_path)
        for migration_id in manager.get_migration_ids(modules):
            if migration_id not in applied:
                pending.append((app_name, migration_id))
    return pending


async def applied_migrations() -> list[tuple[str, str]]:
    """(app, migration id) pairs already applied."""
    manager = BaseMigrationManager()
    await manager.create_migration_table()
    rows = await Migration.select(Migration.app_name, Migration.name).order_by(Migration._meta.primary_key)
    return [(row["app_name"], row["name"]) for row in rows]


async def migrate(engine: Engine, lock_dir: Path, *, quiet: bool = True) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """Apply pending migrations; return what was applied. A second run is a no-op."""
    async with _migration_lock(engine, lock_dir):
        pending = await pending_migrations()
        if not pending:
            return []
        out = io.StringIO()
        # Piccolo prints progress; keep the app's start-up output to our own log lines.
        with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
            result = await run_forwards(app_name="all")
        if not result.success:
            raise MigrationError(f"migrations failed: {result.message or out.getvalue().strip()[-300:]}")
        for app_name, migration_id in pending:
            log.info("applied migration %s:%s", app_name, migration_id)
        return pending
