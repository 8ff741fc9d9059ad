"""Migrations: from zero on a fresh database, twice is a no-op, models match them, a new --auto one applies.

Run on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set. The `piccolo` command line
runs as a child process, as an operator would run it, through a piccolo_conf module.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain import db
from domain.migrations import applied_migrations, migrate, pending_migrations
from domain.piccolo_app import MIGRATIONS_DIR
from tests.support.server import ROOT

PICCOLO = str(Path(sys.executable).parent / "piccolo")
TABLES = {
    "users",
    "sessions",
    "accounts",
    "verifications",
    "passkeys",
    "two_factor",
    "backup_codes",
    "admin_users",
    "admin_sessions",
    "migration",
}
MIGRATION_FILES = sorted(p.name for p in MIGRATIONS_DIR.glob("remote_stack_*.py"))

PROBE_CONF = """
from domain.db import make_engine
from piccolo.conf.apps import AppRegistry
from settings import Settings

DB = make_engine(Settings.from_env().resolved_database_url)
APP_REGISTRY = AppRegistry(apps=["probe_app"])
"""

# The real app's tables over a copy of its migrations; PROBE=1 adds a table, as a developer would.
PROBE_APP = """
import os
from pathlib import Path

from piccolo.columns import Integer, Varchar
from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from domain.piccolo_app import APP_CONFIG as REAL

tables = list(REAL.table_classes)
if os.environ.get("PROBE") == "1":
    class Probe(Table, tablename="probe"):
        note = Varchar(length=50)
        score = Integer(default=0)

    tables.append(Probe)

APP_CONFIG = AppConfig(
    app_name="remote_stack",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=tables,
    migration_dependencies=[],
    commands=[],
)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'app.sqlite3'}"
    else:
        yield request.getfixturevalue("postgres_url")


async def table_names(url: str) -> set[str]:
    engine = db.make_engine(url)
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if url.startswith("sqlite")
        else "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
    )
    rows = await engine.run_ddl(sql, in_pool=False)
    return {row["name"] for row in rows}


def test_migrate_from_zero_then_again_is_a_no_op(database_url: str, tmp_path: Path) -> None:
    async def go() -> None:
        engine = db.make_engine(database_url)
        db.bind_engine(engine)
        await db.prepare(engine, pool_size=2)
        try:
            first = await migrate(engine, tmp_path)
            assert len(first) == len(MIGRATION_FILES)
            assert {app for app, _ in first} == {"remote_stack"}
            assert await pending_migrations() == []
            assert await migrate(engine, tmp_path) == []
            assert len(await applied_migrations()) == len(MIGRATION_FILES)
        finally:
            await db.close(engine)
        assert await table_names(database_url) >= TABLES

    asyncio.run(go())


def piccolo(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PICCOLO, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env},
        timeout=180,
    )


@pytest.fixture
def probe_project(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    """A piccolo_conf over a copy of piccolo_migrations/, so generated files never touch the repository."""
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    for path in MIGRATIONS_DIR.glob("*.py"):
        shutil.copy(path, project / "migrations" / path.name)
    (project / "probe_conf.py").write_text(PROBE_CONF)
    (project / "probe_app.py").write_text(PROBE_APP)
    env = {
        "PICCOLO_CONF": "probe_conf",
        "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
    }
    return project, env


def test_models_match_the_migrations(probe_project: tuple[Path, dict[str, str]]) -> None:
    """`--auto` finds nothing to do: every table change has its migration."""
    project, env = probe_project
    before = sorted(os.listdir(project / "migrations"))
    result = piccolo(env, project, "migrations", "new", "remote_stack", "--auto")
    assert "No changes detected" in result.stdout + result.stderr, result.stdout + result.stderr
    assert sorted(os.listdir(project / "migrations")) == before


def test_a_new_auto_migration_applies_cleanly(probe_project: tuple[Path, dict[str, str]]) -> None:
    project, env = probe_project
    env = {**env, "PROBE": "1"}
    created = piccolo(env, project, "migrations", "new", "remote_stack", "--auto", "--auto_input=y")
    assert created.returncode == 0, created.stdout + created.stderr
    new = sorted(set(os.listdir(project / "migrations")) - {p.name for p in MIGRATIONS_DIR.glob("*.py")})
    assert len(new) == 1 and new[0].startswith("remote_stack_"), new

    forwards = piccolo(env, project, "migrations", "forwards", "all")
    assert forwards.returncode == 0, forwards.stdout + forwards.stderr
    again = piccolo(env, project, "migrations", "forwards", "all")
    assert again.returncode == 0
    assert "No migrations need to be run" in again.stdout, again.stdout
    assert {"probe", *TABLES} <= asyncio.run(table_names(env["DATABASE_URL"]))
    # And the model now matches again.
    check = piccolo(env, project, "migrations", "new", "remote_stack", "--auto")
    assert "No changes detected" in check.stdout + check.stderr


def test_plain_piccolo_commands_work_through_piccolo_conf(tmp_path: Path, database_url: str) -> None:
    """`piccolo migrations forwards all` with the project's own piccolo_conf.py, then the app agrees."""
    env = {"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"}
    forwards = piccolo(env, ROOT, "migrations", "forwards", "all")
    assert forwards.returncode == 0, forwards.stdout + forwards.stderr
    status = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "migrations-status"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[-1] == f"{len(MIGRATION_FILES)} applied, 0 pending"
    check = piccolo(env, ROOT, "migrations", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    ran = [
        line.rsplit("|", 1)[1].strip()
        for line in check.stdout.splitlines()
        if line.startswith("remote_stack")
    ]
    assert ran == ["True"] * len(MIGRATION_FILES)
