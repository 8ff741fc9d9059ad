"""Shared benchmark plumbing: start the real app, drive it with wrk, parse and print figures."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Row:
    """One line of the benchmark table: a measured figure, its baseline, and the ratio."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None
    note: str = ""


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop `serve` runs the app on (uvloop where installed), for in-process load."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_on_app_loop(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)` on the loop `serve` uses, so load from this process is as fast as the app's."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


def http_scope(
    method: str, path: str, headers: list[tuple[bytes, bytes]], host: bytes = b"127.0.0.1:8000"
) -> dict[str, Any]:
    """An ASGI HTTP scope as a server would pass it, for calling the app in-process."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    started_in_s: float

    def worker_pids(self) -> list[int]:
        """The server's process tree (supervisor and workers), for RSS readings."""
        from actors.embedded import SERVER_NAMES

        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid not in pids:
                    continue
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                if not any(name in cmdline for name in SERVER_NAMES):
                    pids.append(int(entry.name))
        return pids

    def rss_mb(self, *, workers_only: bool = False) -> float:
        """Resident memory of the app processes (embedded redis-server excluded).

        `workers_only` leaves out the supervisor (`python app.py serve`, which imports the app to
        migrate and then only watches its workers): the worker is the process serving requests.
        """
        total_kb = 0
        pids = self.worker_pids()
        for pid in pids[1:] if workers_only else pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            except OSError:
                continue
        return total_kb / 1024


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's open-file limit (servers started from it inherit it); the limit now."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


@contextmanager
def app_server(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`python app.py serve` on a free port with a throwaway DATA_DIR, stopped afterwards."""
    raise_fd_limit()
    data_dir = Path(tempfile.mkdtemp(prefix="rstack-bench-"))
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    full_env.update({"DATA_DIR": str(data_dir), "APP_ENV": "development", "LOG_LEVEL": "WARNING"})
    full_env.update(env or {})
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "app.py", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    _wait_for(base_url + "/healthz", process, started + 60)
    server = Server(process, base_url, data_dir, time.monotonic() - started)
    try:
        yield server
    finally:
        _stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def plain_server(
    app: str, env: dict[str, str] | None = None, redis_url: str | None = None
) -> Iterator[Server]:
    """An ASGI app (`module:attr`) under granian (1 worker, the loop `serve` uses) with `env`; its
    PLAIN_REDIS_URL is `redis_url`, else an embedded Redis of its own."""
    from actors.embedded import EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="rstack-plain-", dir="/tmp"))
    redis_server = EmbeddedRedis(data_dir / "redis")
    try:
        url = redis_url or redis_server.start()
        with granian_server(app, data_dir, env={**(env or {}), "PLAIN_REDIS_URL": url}) as server:
            yield server
    finally:
        redis_server.stop()  # a no-op when it was not started
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def granian_server(
    app: str, data_dir: Path, *, env: dict[str, str] | None = None, backpressure: int | None = None
) -> Iterator[Server]:
    """A bare ASGI `app` ("module:name") under granian as `serve` runs it: 1 worker, same loop and backlog."""
    from cli import event_loop

    port = free_port()
    started = time.monotonic()
    extra = [] if backpressure is None else ["--backpressure", str(backpressure)]
    process = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--loop", event_loop(), "--backlog", "2048",
         *extra, "--no-ws", "--log-level", "warning", app],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(base_url + "/ping", process, started + 60)
        yield Server(process, base_url, data_dir, time.monotonic() - started)
    finally:
        _stop(process)


def _wait_for(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {err[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{url} did not answer 200 within 60 s")
        time.sleep(0.01)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr:
        process.stderr.close()


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed for the HTTP benchmarks: apt-get install -y wrk")
    return path


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def wrk(
    url: str,
    *,
    connections: int = 50,
    duration_s: int = 5,
    threads: int = 1,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> WrkResult:
    """Run wrk against a loopback URL for a bounded time and parse throughput and latency."""
    assert url.startswith("http://127.0.0.1"), "benchmarks only load loopback"
    cmd = [require_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{duration_s}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration_s + 30, env={**os.environ, **(env or {})}
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock_err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock_err:
        errors += sum(int(x) for x in sock_err.groups())
    return WrkResult(rps, p50, p99, errors)


def print_table(rows: list[Row]) -> None:
    headers = ["#", "benchmark", "measured", "baseline", "ratio", "target", "ok"]
    body = [
        [
            str(i),
            row.name,
            row.measured,
            row.baseline,
            "-" if row.ratio is None else f"{row.ratio:.2f}",
            row.target,
            "-" if row.ok is None else ("yes" if row.ok else "NO"),
        ]
        for i, row in enumerate(rows, 1)
    ]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in body:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    for i, row in enumerate(rows, 1):
        if row.note:
            print(f"  {i}. {row.note}")


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database `<prefix>_<random>`, created and dropped over `admin_url`; its URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
