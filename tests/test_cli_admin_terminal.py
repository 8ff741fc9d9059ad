"""`createadmin` on a real terminal (a pseudo-terminal it owns): asked twice, nothing echoed."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.test_cli_admin import APP, process
from tests.web.auth_support import PASSWORD


def _read_until(fd: int, needle: bytes, timeout: float = 60) -> bytes:
    """Read the terminal's output until `needle` shows up (select() waits for data; no sleeping)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} on the terminal; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _with_terminal(env: dict[str, str], cwd: Path, answers: list[str], *argv: str) -> tuple[int, bytes]:
    """Run `python app.py argv` on a new pseudo-terminal (its controlling tty), answering each prompt."""
    master, slave = pty.openpty()

    def become_session_leader() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, APP, *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env={**os.environ, **env},
        preexec_fn=become_session_leader,  # the pty must be its controlling terminal for getpass
    )
    os.close(slave)
    transcript = b""
    try:
        for answer in answers:
            transcript += _read_until(master, b": ")
            os.write(master, answer.encode() + b"\n")
        code = proc.wait(timeout=120)
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
    finally:
        os.close(master)
    return code, transcript


def test_createadmin_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}
    assert process(env, tmp_path, "migrate").code == 0
    code, transcript = _with_terminal(env, tmp_path, [PASSWORD, PASSWORD], "createadmin", "root@example.com")
    assert code == 0, transcript
    assert b"Password: " in transcript and b"Password (again): " in transcript
    assert PASSWORD.encode() not in transcript
    assert b"created admin root@example.com" in transcript


def test_createadmin_on_a_terminal_refuses_different_passwords(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}
    assert process(env, tmp_path, "migrate").code == 0
    code, transcript = _with_terminal(
        env, tmp_path, [PASSWORD, PASSWORD + "!"], "createadmin", "root@example.com"
    )
    assert code == 2
    assert b"error: the two passwords differ" in transcript
    listed = process(env, tmp_path, "users", "list")
    assert listed.out == "0 users\n"
