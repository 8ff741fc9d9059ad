"""Operator commands: `createadmin` and `users list|promote|demote`, in-process and as `python app.py`."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import redis as redis_sync
from litestar.testing import TestClient

from cli import main
from cli_support import open_database
from domain.auth.local_cache import invalidation_channel
from domain.auth.passwords import PasswordHasher
from domain.auth.tables import Account, User
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.support.server import ROOT, running_app
from tests.support.signin import signed_in
from tests.web.auth_support import PASSWORD, fast_hashing, sign_in

APP = str(ROOT / "app.py")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh, migrated SQLite database in tmp_path/data, named by the environment like in production."""
    env = {"DATA_DIR": str(tmp_path / "data")}
    for name in ("DATABASE_URL", "APP_ENV", "AUTH_SECRET", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert main(["migrate"]) == 0
    yield env


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = ""
) -> Result:
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def process(env: dict[str, str], cwd: Path, *argv: str, stdin: str = "") -> Result:
    done = subprocess.run(
        [sys.executable, APP, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env},
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def one_line_error(result: Result) -> str:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    return lines[0]


def stored(email: str) -> tuple[dict[str, object] | None, str | None]:
    """The user row and password hash for `email`, read with the CLI's own settings."""

    async def go() -> tuple[dict[str, object] | None, str | None]:
        async with open_database(Settings.from_env()):
            user = await User.select().where(User.email == email).first()
            if user is None:
                return None, None
            account = await Account.select(Account.password_hash).where(Account.user == user["id"]).first()
            return user, account["password_hash"] if account else None

    return asyncio.run(go())


def password_matches(password_hash: str | None, password: str) -> bool:
    async def go() -> bool:
        return await PasswordHasher().verify(password_hash or "", password)

    return asyncio.run(go())


def test_createadmin_from_stdin_makes_a_verified_admin(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "createadmin", "Root@Example.com", stdin=f"{PASSWORD}\n")
    assert result.code == 0, result
    assert "created admin root@example.com" in result.out
    assert PASSWORD not in result.out + result.err
    user, password_hash = stored("root@example.com")
    assert user is not None
    assert user["is_admin"] and user["email_verified"]
    assert user["name"] == "root"
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert password_matches(password_hash, PASSWORD)


def test_createadmin_name_option(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(
        capsys, monkeypatch, "createadmin", "a@example.com", "--name", "Ada Lovelace", stdin=PASSWORD
    )
    assert result.code == 0
    user, _ = stored("a@example.com")
    assert user is not None and user["name"] == "Ada Lovelace"


def test_createadmin_promotes_an_existing_user_keeping_their_password(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(capsys, monkeypatch, "createadmin", "a@example.com", stdin=PASSWORD).code == 0
    assert run_cli(capsys, monkeypatch, "users", "demote", "a@example.com").code == 0
    result = run_cli(capsys, monkeypatch, "createadmin", "A@example.com", stdin="ignored password\n")
    assert result.code == 0
    assert "promoted a@example.com" in result.out
    user, password_hash = stored("a@example.com")
    assert user is not None and user["is_admin"]
    assert password_matches(password_hash, PASSWORD)


def test_createadmin_twice_is_a_no_op(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(capsys, monkeypatch, "createadmin", "a@example.com", stdin=PASSWORD).code == 0
    again = run_cli(capsys, monkeypatch, "createadmin", "a@example.com")
    assert again.code == 0
    assert "already an admin" in again.out


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "Use at least 8 characters."),
        ("password123", "too common"),
        ("a@example.com", "Don't use your email"),
        ("x" * 129, "at most 128"),
    ],
)
def test_createadmin_applies_the_password_rules(
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    reason: str,
) -> None:
    result = run_cli(capsys, monkeypatch, "createadmin", "a@example.com", stdin=f"{password}\n")
    assert reason in one_line_error(result)
    assert stored("a@example.com") == (None, None)


def test_createadmin_rejects_a_bad_email(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "createadmin", "not-an-email", stdin=PASSWORD)
    assert "email" in one_line_error(result)


def test_createadmin_needs_a_password_on_stdin(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "createadmin", "a@example.com", stdin="")
    assert "no password on stdin" in one_line_error(result)


@pytest.mark.parametrize(
    "argv",
    [
        ["createadmin"],
        ["createadmin", "a@example.com", "b@example.com"],
        ["users"],
        ["users", "frobnicate"],
        ["users", "demote"],
        ["nonsense"],
    ],
)
def test_wrong_arguments_exit_2_with_a_reason(
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    result = run_cli(capsys, monkeypatch, *argv)
    assert result.code == 2
    # argparse: a usage line, then one line with the reason.
    assert "error: " in result.err.strip().splitlines()[-1]


def test_users_list_prints_a_table(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = run_cli(capsys, monkeypatch, "users", "list")
    assert empty.code == 0
    assert empty.out == "0 users\n"
    run_cli(capsys, monkeypatch, "createadmin", "root@example.com", "--name", "Root", stdin=PASSWORD)
    run_cli(capsys, monkeypatch, "createadmin", "ada@example.com", "--name", "Ada", stdin=PASSWORD)
    run_cli(capsys, monkeypatch, "users", "demote", "ada@example.com")
    result = run_cli(capsys, monkeypatch, "users", "list")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["id", "email", "name", "verified", "admin", "created", "(UTC)"]
    assert lines[1].split()[:5] == ["1", "root@example.com", "Root", "yes", "yes"]
    assert lines[2].split()[:5] == ["2", "ada@example.com", "Ada", "yes", "no"]
    assert lines[-1] == "2 users"


def test_users_promote_and_demote(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(capsys, monkeypatch, "createadmin", "ada@example.com", stdin=PASSWORD)
    demoted = run_cli(capsys, monkeypatch, "users", "demote", "ADA@example.com")
    assert demoted.code == 0 and "no longer an admin" in demoted.out
    assert stored("ada@example.com")[0]["is_admin"] is False  # type: ignore[index]
    promoted = run_cli(capsys, monkeypatch, "users", "promote", "ada@example.com")
    assert promoted.code == 0 and "now an admin" in promoted.out
    unknown = run_cli(capsys, monkeypatch, "users", "demote", "nobody@example.com")
    assert one_line_error(unknown) == "error: no user with email nobody@example.com"


def test_users_demote_of_a_non_admin_changes_nothing(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(capsys, monkeypatch, "createadmin", "ada@example.com", stdin=PASSWORD)
    assert run_cli(capsys, monkeypatch, "users", "demote", "ada@example.com").code == 0
    again = run_cli(capsys, monkeypatch, "users", "demote", "ada@example.com")
    assert again.code == 0 and "not an admin; nothing to do" in again.out
    promoted = run_cli(capsys, monkeypatch, "users", "promote", "ada@example.com")
    assert "now an admin" in promoted.out
    twice = run_cli(capsys, monkeypatch, "users", "promote", "ada@example.com")
    assert twice.code == 0 and "already an admin; nothing to do" in twice.out


def test_createadmin_as_a_process_then_sign_in_and_open_the_admin(tmp_path: Path, settings: Settings) -> None:
    """Scripted: `echo PASSWORD | python app.py createadmin EMAIL`, then the app's own sign-in."""
    env = {"DATA_DIR": str(settings.data_dir), "AUTH_SECRET": settings.auth_secret, "DATABASE_URL": ""}
    assert process(env, tmp_path, "migrate").code == 0
    created = process(env, tmp_path, "createadmin", "root@example.com", stdin=f"{PASSWORD}\n")
    assert created.code == 0, created
    listed = process(env, tmp_path, "users", "list")
    assert "root@example.com" in listed.out and listed.out.endswith("1 user\n")
    bad = process(env, tmp_path, "users", "demote", "nobody@example.com")
    assert bad.code == 2 and bad.err.strip() == "error: no user with email nobody@example.com"

    from app import create_app

    with TestClient(app=create_app(settings), base_url=TEST_BASE_URL) as client:
        fast_hashing(client)
        assert sign_in(client, "root@example.com").status_code == 200
        assert client.get("/admin/api/tables/", headers={"Accept": "application/json"}).status_code == 200


def test_operator_commands_on_postgres(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.chdir(tmp_path)
    assert run_cli(capsys, monkeypatch, "migrate").code == 0
    assert run_cli(capsys, monkeypatch, "createadmin", "root@example.com", stdin=PASSWORD).code == 0
    assert run_cli(capsys, monkeypatch, "createadmin", "root@example.com").code == 0
    assert run_cli(capsys, monkeypatch, "users", "demote", "root@example.com").code == 0
    listed = run_cli(capsys, monkeypatch, "users", "list")
    assert listed.out.splitlines()[1].split()[:5] == ["1", "root@example.com", "root", "yes", "no"]


def test_promoting_from_the_cli_tells_a_running_app_to_reload_the_user(tmp_path: Path) -> None:
    """The running app caches users (memory and Redis); the CLI drops the Redis copy and publishes
    the invalidation every app process applies (tests/web/test_auth_sessions.py shows them apply it)."""
    data_dir = tmp_path / "data"
    with (
        running_app(data_dir) as app,
        contextlib.closing(signed_in(app.base_url, data_dir, "ada@example.com")),
    ):
        redis = redis_sync.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
        pubsub = redis.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(invalidation_channel())
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
        cached = [key for key in redis.scan_iter("auth:user:*")]
        assert len(cached) == 1  # ada, cached by the sign-in's requests
        env = {"DATA_DIR": str(data_dir), "DATABASE_URL": ""}
        assert process(env, tmp_path, "users", "promote", "ada@example.com").code == 0
        message = pubsub.get_message(timeout=5)
        assert message is not None and message["type"] == "message"
        change = msgspec.json.decode(message["data"])
        assert change["kind"] == "auth" and change["state"] == {"user": int(cached[0].split(b"{")[1][:-1])}
        assert not redis.exists(cached[0])
        pubsub.close()
        redis.close()
