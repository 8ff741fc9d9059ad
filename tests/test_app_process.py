"""The real app as a process: boots on the embedded stack, refuses unsafe production, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.support.server import ROOT, redis_pids_for, running_app, start_app, stop_app, wait_until


def test_serve_boots_embedded_stack_and_answers_probes(tmp_path: Path) -> None:
    with running_app(tmp_path / "data") as app:
        health = app.get("/healthz")
        assert health.status_code == 200
        assert health.text == "ok"
        ready = app.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "data" / "app.sqlite3").exists()
        assert (tmp_path / "data" / "redis" / "appendonlydir" / "appendonly.aof.manifest").exists()


def test_dev_command_serves_with_reload(tmp_path: Path) -> None:
    with running_app(tmp_path / "data", command="dev") as app:
        assert app.get("/healthz").status_code == 200
        assert app.get("/readyz").json() == {"database": "ok", "redis": "ok"}
    wait_until(lambda: not redis_pids_for(tmp_path / "data"), 20, "embedded redis stopped with dev server")


def test_sigkill_leaves_no_redis_and_restart_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = start_app(data_dir)
    pids = redis_pids_for(data_dir)
    assert len(pids) == 1
    client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
    client.set("foundation:survives", "yes")
    client.close()

    stop_app(app, signal.SIGKILL)
    wait_until(lambda: not redis_pids_for(data_dir), 20, "redis-server died with the app")
    wait_until(lambda: not app_pids_for(data_dir), 20, "server workers died with the app")

    with running_app(data_dir) as again:
        assert again.get("/readyz").status_code == 200
        client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
        assert client.get("foundation:survives") == b"yes"
        client.close()


def app_pids_for(data_dir: Path) -> list[int]:
    """App processes (supervisor or workers) started with DATA_DIR=data_dir, zombies excluded."""
    needle = f"DATA_DIR={data_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if (
            needle in environ.split(b"\0")
            and ") Z " not in stat
            and b"redis" not in (entry / "cmdline").read_bytes()
        ):
            pids.append(int(entry.name))
    return pids


def test_two_apps_with_different_data_dirs_run_side_by_side(tmp_path: Path) -> None:
    with running_app(tmp_path / "one") as one, running_app(tmp_path / "two") as two:
        assert one.get("/readyz").status_code == 200
        assert two.get("/readyz").status_code == 200
        assert redis_pids_for(tmp_path / "one") != redis_pids_for(tmp_path / "two")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_URL", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_exits_with_one_line_reason(tmp_path: Path) -> None:
    # AUTH_SECRET="" hides a secret in ./.env (a project made from the template has one): empty is unset.
    result = run_cli(
        {
            "APP_ENV": "production",
            "DATA_DIR": str(tmp_path),
            "BASE_URL": "https://app.example",
            "AUTH_SECRET": "",
        },
        "serve",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: AUTH_SECRET is required in production (generate one: "
        'python -c "import secrets; print(secrets.token_urlsafe(32))")'
    ]
    assert not redis_pids_for(tmp_path)


def test_an_unknown_event_loop_exits_with_one_line_reason_before_starting_anything(tmp_path: Path) -> None:
    result = run_cli({"DATA_DIR": str(tmp_path), "EVENT_LOOP": "tokio"}, "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: EVENT_LOOP must be one of uvloop, asyncio (got 'tokio')"
    ]
    assert not redis_pids_for(tmp_path)


def test_production_with_placeholder_secret_exits(tmp_path: Path) -> None:
    result = run_cli(
        {
            "APP_ENV": "production",
            "DATA_DIR": str(tmp_path),
            "AUTH_SECRET": "your-secret-key",
            "BASE_URL": "https://app.example",
        },
        "serve",
    )
    assert result.returncode == 2
    assert "placeholder" in result.stderr


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    first = run_cli(env, "migrate")
    assert first.returncode == 0, first.stderr
    second = run_cli(env, "migrate")
    assert second.returncode == 0, second.stderr
    assert "database is up to date" in second.stdout


def test_routes_lists_remote_functions_and_the_admin_mount(tmp_path: Path) -> None:
    result = run_cli({"DATA_DIR": str(tmp_path)}, "routes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("/account/sessions/{session_id:str}/revoke")
        and "revoke_session  [remote command]" in line
        for line in lines
    )
    assert any("get_user_profile  [remote query]" in line for line in lines)
    assert any(line.startswith("/admin/*") and "(mounted app)" in line for line in lines)
    access = {
        line.split()[-1] if "[" not in line else line.split()[-3]: line.split()[2] for line in lines[1:]
    }
    assert access["sign_in"] == "public"
    assert access["revoke_session"] == "signed-in"
    assert access["update_user_profile"] == "signed-in"
    assert not any(" OPTIONS " in line for line in lines)


def test_the_admin_panel_is_built_on_first_use_not_at_start(tmp_path: Path) -> None:
    """piccolo-admin (FastAPI) stays out of a worker until an admin request needs it."""
    code = (
        "import sys, app\n"
        "from settings import Settings\n"
        "app.create_app(Settings.from_env())\n"
        "print(sorted(m for m in ('fastapi', 'piccolo_admin') if m in sys.modules))\n"
        "from web.admin.mount import AdminBridge\n"
        "AdminBridge(Settings.from_env()).panel\n"
        "print(sorted(m for m in ('fastapi', 'piccolo_admin') if m in sys.modules))\n"
    )
    env = {**os.environ, "DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "['fastapi', 'piccolo_admin']"]


def test_a_failed_migration_stops_the_redis_that_booted_meanwhile(tmp_path: Path) -> None:
    """Migrations run while redis-server boots; when they fail, serve exits and takes Redis down."""
    data_dir = tmp_path / "data"
    env = {**os.environ, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    # A directory where the SQLite file should be: the database cannot be opened.
    (tmp_path / "db.sqlite3").mkdir()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "app.py", "serve", "--port", "0", "--workers", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "starting embedded Redis" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr and "error: cannot open the database" in result.stderr
    assert not redis_pids_for(data_dir)


@pytest.mark.parametrize("command", ["migrate", "migrations-status"])
def test_migrations_against_an_unreachable_database_say_so_in_one_line(tmp_path: Path, command: str) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://app:secret@127.0.0.1:1/app"}
    result = subprocess.run(
        [sys.executable, "app.py", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot open the database postgresql://app:***@127.0.0.1:1/app")
    assert "secret" not in result.stderr + result.stdout and "Traceback" not in result.stderr
