"""The `python app.py ...` command line: run the app, migrate, inspect routes."""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib.util
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from actors.embedded import EmbeddedRedis, EmbeddedRedisError
from cli_support import CommandError, open_database, redact, step
from commands import OPERATOR_COMMANDS
from doctor import add_doctor_arguments, cmd_doctor
from domain import db
from domain.migrations import MigrationError, applied_migrations, migrate, pending_migrations
from settings import APP_NAME, Settings, SettingsError


@contextmanager
def embedded_redis_for(
    settings: Settings, meanwhile: Callable[[Settings], None] | None = None
) -> Iterator[Settings]:
    """Start the embedded Redis when REDIS_URL is unset; child processes inherit its URL.

    `meanwhile` (e.g. migrations, which need no Redis) runs while redis-server boots.
    """
    if settings.redis_url is not None:
        step(f"using Redis at {settings.redis_url}")
        if meanwhile is not None:
            meanwhile(settings)
        yield settings
        return
    server = EmbeddedRedis(settings.data_dir)
    step(f"starting embedded Redis (data in {server.directory})")
    started = time.monotonic()
    server.launch()
    try:
        if meanwhile is not None:
            meanwhile(settings)
        url = server.wait_ready()
    except BaseException:
        server.stop()
        raise
    step(f"embedded Redis ({server.server_name}) ready in {time.monotonic() - started:.2f}s at {url}")
    # Supervised here, in the one process that owns it: workers only inherit REDIS_URL.
    server.supervise()
    os.environ["REDIS_URL"] = url
    try:
        yield settings.with_overrides(redis_url=url)
    finally:
        server.stop()
        step("embedded Redis stopped")


def run_migrations(settings: Settings) -> None:
    async def go() -> list[tuple[str, str]]:
        async with open_database(settings):
            return await migrate(db.current_engine(), settings.data_dir)

    step(f"migrating {redact(settings.resolved_database_url)}")
    applied = asyncio.run(go())
    if applied:
        for app_name, migration_id in applied:
            step(f"applied {app_name}:{migration_id}")
    else:
        step("database is up to date")


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    run_migrations(settings)
    return 0


def cmd_migrations_status(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        async with open_database(settings):
            return await applied_migrations(), await pending_migrations()

    applied, pending = asyncio.run(go())
    for app_name, migration_id in applied:
        print(f"[x] {app_name}:{migration_id}")
    for app_name, migration_id in pending:
        print(f"[ ] {app_name}:{migration_id}")
    print(f"{len(applied)} applied, {len(pending)} pending")
    return 0


def cmd_routes(settings: Settings, args: argparse.Namespace) -> int:
    create_app: Callable[[Settings], Litestar] | None = getattr(args, "create_app", None)
    if create_app is None:
        raise CommandError("routes needs the app: run it as `python app.py routes`")
    from litestar.routes import ASGIRoute

    from web.remote.declare import REGISTRY

    app = create_app(settings)
    remote = {rf.name: rf.kind for rf in REGISTRY}
    rows: list[tuple[str, str, str, str]] = []
    for route in app.routes:
        handlers = getattr(route, "route_handlers", None) or [getattr(route, "route_handler", None)]
        for handler in filter(None, handlers):
            methods = sorted(getattr(handler, "http_methods", None) or [])
            methods = [m for m in methods if m != "OPTIONS"]
            if isinstance(route, ASGIRoute):
                rows.append((route.path + "/*", "(mounted app)", "-", handler.handler_name))
            elif methods:
                name = handler.handler_name
                kind = remote.get(name)
                label = f"{name}  [remote {kind}]" if kind else name
                rows.append((route.path, ",".join(methods), access_of(handler), label))
    width = max(len(path) for path, _, _, _ in rows)
    print(f"{'PATH':<{width}}  {'METHODS':<14} {'ACCESS':<9} HANDLER")
    for path, verbs, access, name in sorted(rows):
        print(f"{path:<{width}}  {verbs:<14} {access:<9} {name}")
    return 0


def access_of(handler: Any) -> str:
    """Who may call a route: `public`, `signed-in` or `admin` (remote functions say it; pages by guard)."""
    from web.admin.actors import admin_now
    from web.auth.guards import admin_only, signed_in

    # Litestar wraps resolved guards; the handler's own `guards` list names the functions themselves.
    guards = list(handler.guards or ())
    if admin_only in guards or admin_now in guards:
        return "admin"
    if signed_in in guards or handler.opt.get("public") is False:
        return "signed-in"
    return "public"


def check_port_free(host: str, port: int) -> None:
    """Fail in one line naming the setting to change when another process already listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As the servers do: a port left in TIME_WAIT by a stopped server is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} on {host} is already in use: choose another with PORT "
                    f"(make dev PORT={port + 1}) or --port (python app.py dev --port {port + 1})"
                ) from None
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror} (change --host/HOST)"
            ) from None


def local_url(host: str, port: int) -> str:
    """The URL of a server bound to `host:port`, as a browser on this machine opens it."""
    shown = "127.0.0.1" if host in {"", "0.0.0.0"} else "::1" if host == "::" else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def follow_port(settings: Settings, host: str, port: int) -> Settings:
    """In development with BASE_URL unset, BASE_URL is the address served, so mailed links work on any port.

    Put in the environment too: the server's worker processes read their settings from it.
    """
    if settings.is_production or settings.base_url_set:
        return settings
    url = local_url(host, port)
    os.environ["BASE_URL"] = url
    return settings.with_overrides(base_url=url)


def announce(settings: Settings, host: str, port: int) -> None:
    """The addresses a newcomer wants first: the app, the development mailbox, the admin."""
    url = local_url(host, port)
    step(f"app:   {url}/")
    if not settings.is_production and settings.smtp_url is None:
        step(f"mail:  {url}/dev/mail  (mail the app sends, e.g. sign-up confirmations)")
    step(f"admin: {url}/admin/  (make yourself an admin: python app.py createadmin EMAIL)")


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    check_port_free(args.host, args.port)
    settings = follow_port(settings, args.host, args.port)
    with embedded_redis_for(settings, meanwhile=run_migrations):
        step(f"serving on {local_url(args.host, args.port)} (auto-reload on; Ctrl-C to stop)")
        announce(settings, args.host, args.port)
        uvicorn.run(
            "app:asgi",
            factory=True,
            host=args.host,
            port=args.port,
            reload=True,
            reload_dirs=["web", "domain", "actors"],
            reload_includes=["*.py", "*.html", "*.lua", "*.css", "*.js"],
            log_level="info",
            # The app logs every request itself (web/logging.py), with its request id.
            access_log=False,
        )
    return 0


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> int:
    """`piccolo migrations new <app> --auto`, answering its rename prompts with yes."""
    from piccolo.apps.migrations.commands.new import new

    from domain.piccolo_app import APP_CONFIG

    step(f"comparing the tables with {APP_CONFIG.migrations_folder_path}")
    asyncio.run(new(APP_CONFIG.app_name, auto=True, desc=args.desc, auto_input="y"))
    step("apply it with: python app.py migrate (dev and serve also migrate on start)")
    return 0


def prepare_metrics_dir(settings: Settings) -> None:
    """With METRICS_ENABLED, workers write samples to one emptied folder; /metrics on any sums them all."""
    if not settings.metrics_enabled:
        return
    # Set before anything imports prometheus_client: it picks multiprocess mode at import time.
    path = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / "prometheus").resolve()
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


EVENT_LOOPS = ("uvloop", "asyncio")


def event_loop() -> str:
    """The event loop `serve` runs the app on: EVENT_LOOP, else uvloop where installed, else asyncio.

    Named rather than left to granian's "auto", which would take any other loop that happens to
    be installed (rloop broke sign-up here).
    """
    chosen = os.environ.get("EVENT_LOOP", "").strip().lower()
    if chosen:
        if chosen not in EVENT_LOOPS:
            raise CommandError(f"EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)} (got {chosen!r})")
        if not importlib.util.find_spec(chosen):
            raise CommandError(f"EVENT_LOOP={chosen} but {chosen} is not installed")
        return chosen
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


# Concurrent requests each worker takes besides its SSE streams (MAX_STREAMS_PER_WORKER): an open
# stream holds one of granian's request slots for as long as it lasts.
FREE_REQUESTS_PER_WORKER = 256


def worker_backpressure(settings: Settings) -> int:
    """granian's cap on concurrent requests per worker: every stream slot plus room for the rest."""
    return settings.max_streams_per_worker + FREE_REQUESTS_PER_WORKER


# Descriptors a worker needs besides its connections: logs, the database, Redis, pub/sub, imports.
SPARE_FILES = 256


def raise_open_files(workers: int, settings: Settings) -> int:
    """Raise the soft open-file limit (workers inherit it) so every request slot can hold a socket.

    Each worker may hold `worker_backpressure` connections at once; a soft limit of 1,024 (common)
    would refuse connections long before MAX_STREAMS_PER_WORKER. Capped by the hard limit, which
    only the administrator can raise; the limit now is returned and shown at start.
    """
    import resource

    wanted = workers * (worker_backpressure(settings) + SPARE_FILES)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    workers = args.workers or int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    loop = event_loop()
    prepare_metrics_dir(settings)
    check_port_free(args.host, args.port)
    settings = follow_port(settings, args.host, args.port)
    open_files = raise_open_files(workers, settings)
    with embedded_redis_for(settings, meanwhile=run_migrations):
        step(
            f"serving on {local_url(args.host, args.port)} with {workers} worker(s) (granian, {loop}),"
            f" open-file limit {open_files}"
        )
        announce(settings, args.host, args.port)
        Granian(
            "app:asgi",
            factory=True,
            address=args.host,
            port=args.port,
            interface=Interfaces.ASGI,
            workers=workers,
            backlog=2048,
            backpressure=worker_backpressure(settings),
            log_access=False,
            respawn_failed_workers=True,
            loop=Loops(loop),
        ).serve()
    return 0


COMMANDS: dict[str, tuple[Callable[[Settings, argparse.Namespace], int], str]] = {
    "dev": (cmd_dev, "development server: embedded Redis, migrations, auto-reload"),
    "serve": (cmd_serve, "production server (granian, several worker processes)"),
    "migrate": (cmd_migrate, "apply pending database migrations (safe to run twice)"),
    "migrations-status": (cmd_migrations_status, "list applied and pending migrations"),
    "makemigrations": (
        cmd_makemigrations,
        "write a migration for table changes (piccolo migrations new --auto)",
    ),
    "routes": (cmd_routes, "list every route, remote functions included"),
    "doctor": (
        cmd_doctor,
        "check this deployment's settings: URLs, cookies, OAuth, proxies, mail, Redis, DB",
    ),
    **{name: (handler, text) for name, (handler, text, _) in OPERATOR_COMMANDS.items()},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description=f"{APP_NAME} operator commands.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name in {"dev", "serve"}:
            cmd.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
            cmd.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        if name == "doctor":
            add_doctor_arguments(cmd)
        if name == "makemigrations":
            cmd.add_argument("--desc", default="", help="what the migration does, kept in its file")
        if name in OPERATOR_COMMANDS:
            OPERATOR_COMMANDS[name][2](cmd)
        if name == "serve":
            cmd.add_argument(
                "--workers", type=int, default=0, help="worker processes (default: WEB_CONCURRENCY or CPUs)"
            )
    return parser


def main(
    argv: Sequence[str] | None = None, *, create_app: Callable[[Settings], Litestar] | None = None
) -> int:
    """Run one command; `create_app` is the app factory (app.py passes it: commands never import app.py)."""
    args = build_parser().parse_args(argv)
    args.create_app = create_app
    try:
        settings = Settings.from_env()
        handler, _ = COMMANDS[args.command]
        return handler(settings, args)
    except (SettingsError, EmbeddedRedisError, MigrationError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
