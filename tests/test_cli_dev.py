"""`python app.py` for a developer: help everywhere, any port end to end, a busy port, makemigrations."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from cli import build_parser
from domain.mail import dev_mail_dir, list_stored
from tests.support.server import ROOT, free_port, running_app, wait_until
from tests.support.signin import LINK, PASSWORD, browser, csrf_of

APP = str(ROOT / "app.py")


def subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"subcommand {sub.prog!r} has no help text"
                found.append((name, sub))
                found.extend(subparsers(sub))
    return found


def test_cli_every_subcommand_and_argument_has_help() -> None:
    parser = build_parser()
    commands = subparsers(parser)
    assert {"dev", "serve", "makemigrations", "doctor", "users"} <= {name for name, _ in commands}
    for _, sub in [("", parser), *commands]:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{sub.prog}: {action.dest} has no help"


def run(env: dict[str, str], *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, APP, *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_URL", "DATABASE_URL"))}
    env.pop("BASE_URL", None)
    return {**env, "DATA_DIR": str(tmp_path / "data"), "APP_ENV": "development"}


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_cli_busy_port_names_the_setting_in_one_line(tmp_path: Path, command: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run(clean_env(tmp_path), command, "--port", str(port))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"port {port}" in lines[0] and "PORT" in lines[0] and "--port" in lines[0]
    # Nothing was started: no embedded Redis, no database.
    assert not (tmp_path / "data" / "redis").exists()


@pytest.mark.slow
def test_dev_on_any_port_mails_links_to_that_port(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {"BASE_URL": ""}  # unset, as in a fresh clone
    with running_app(data_dir, env=env, command="dev", port=port) as app:
        assert f"http://127.0.0.1:{port}/dev/mail" in app.output()
        client = browser(app.base_url)
        fields = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        response = client.post("/auth/sign-up", data={**fields, "_csrf_token": csrf_of(client)})
        assert response.status_code == 200, response.text
        links: list[str] = []

        def mailed() -> bool:
            links.extend(
                m.group(0) for mail in list_stored(dev_mail_dir(data_dir)) if (m := LINK.search(mail.text))
            )
            return bool(links)

        wait_until(mailed, 20, "the sign-up mail")
        link = urlsplit(links[0])
        assert (link.hostname, link.port) == ("127.0.0.1", port)
        verified = client.get(links[0])
        assert verified.status_code == 200 and verified.url.port == port
        requests = [line for line in app.output().splitlines() if '"path": "/auth/sign-up"' in line]
        assert len(requests) == 1, "one access-log line per request"
        assert 'HTTP/1.1" 200' not in app.output(), "uvicorn's own access log is off"
        assert "Running Sqlite" not in app.output()
        assert app.output().count(f"database: SQLite {sqlite3.sqlite_version}") == 1


def test_makemigrations_writes_a_migration_for_a_changed_table(tmp_path: Path) -> None:
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns(".venv", ".git", ".data", "node_modules", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT, project, ignore=ignore)
    tables = project / "domain" / "auth" / "tables.py"
    source = tables.read_text()
    anchor = "class User(Table"
    assert anchor in source
    # Varchar and Table are imported there already.
    tables.write_text(source + "\n\nclass Bookmark(Table):\n    url = Varchar(length=500)\n")
    before = set((project / "piccolo_migrations").glob("*.py"))
    env = {**clean_env(tmp_path), "PYTHONPATH": str(project)}
    done = subprocess.run(
        [sys.executable, "app.py", "makemigrations", "--desc", "bookmarks"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    created = set((project / "piccolo_migrations").glob("*.py")) - before
    assert len(created) == 1, done.stdout
    text = created.pop().read_text()
    assert "Bookmark" in text and "bookmarks" in text
    migrated = subprocess.run(
        [sys.executable, "app.py", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "Bookmark" in migrated.stdout or "applied" in migrated.stdout


def test_local_url_of_wildcard_hosts() -> None:
    from cli import local_url

    assert local_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"
    assert local_url("::", 8123) == "http://[::1]:8123"
    assert httpx.URL(local_url("127.0.0.1", 1)).port == 1
