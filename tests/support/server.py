"""Run the real app (`python app.py ...`) as a child process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from actors.embedded import find_redis_server

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: object, timeout: float, message: str) -> None:
    """Poll `condition()` every 50 ms until it is truthy; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s: {message}")


def redis_pids_for(data_dir: Path) -> list[int]:
    """PIDs of embedded server processes (valkey-server or redis-server) serving the socket in `data_dir`."""
    needle = str((data_dir / "redis" / "redis.sock").resolve()).encode()
    name = find_redis_server().name.encode()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # A zombie (state Z) has exited; it only waits for its parent to reap it.
        if name in cmdline and needle in cmdline and ") Z " not in stat:
            pids.append(int(entry.name))
    return pids


@dataclass
class RunningApp:
    process: subprocess.Popen[str]
    base_url: str
    data_dir: Path

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=5, **kwargs)  # type: ignore[arg-type]

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    def output(self) -> str:
        """Everything the server printed so far (it writes to a file, so a chatty log never blocks it)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def start_app(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    command: str = "serve",
    port: int | None = None,
) -> RunningApp:
    port = port or free_port()
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_URL", "DATABASE_URL"))
    }
    full_env.update({"DATA_DIR": str(data_dir), "APP_ENV": "development", "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    cmd = [sys.executable, "app.py", command, "--port", str(port), *args]
    if command == "serve" and "--workers" not in args:
        cmd += ["--workers", "1"]
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    with open(log_path, "a") as log_file:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, text=True
        )
    app = RunningApp(process, f"http://127.0.0.1:{port}", data_dir)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"app exited with {process.returncode}:\n{app.output()}")
        try:
            return app.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 60, "app answered /healthz")
    return app


def stop_app(app: RunningApp, sig: signal.Signals = signal.SIGTERM) -> int:
    if app.process.poll() is None:
        app.process.send_signal(sig)
        try:
            app.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()
    return app.process.returncode


@contextmanager
def running_app(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    command: str = "serve",
    port: int | None = None,
) -> Iterator[RunningApp]:
    """`start_app` as a context manager; pass `port` to know the URL beforehand (e.g. for BASE_URL)."""
    app = start_app(data_dir, *args, env=env, command=command, port=port)
    try:
        yield app
    finally:
        stop_app(app)
