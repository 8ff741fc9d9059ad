"""Composition root: builds the Litestar app from Settings; `python app.py --help` for the CLI."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.logging.config import LoggingConfig
from litestar.plugins.htmx import HTMXConfig, HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from redis.exceptions import RedisError

from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import RedisClient, create_redis
from actors.durability import check_durability
from actors.embedded import EmbeddedRedis, die_with_parent
from domain import db
from domain.auth.setup import close_auth, create_auth
from domain.errors import NotSignedIn
from domain.migrations import migrate
from domain.orgs.members import active_tenant
from domain.sweeper import arm_sweeper
from settings import Settings
from web import api_docs, edge, live, metrics, page_state, security
from web.admin import admin_routes
from web.auth import handle_not_signed_in
from web.auth.oauth import register_oauth_helpers
from web.errors import exception_handlers
from web.heap import settle_heap
from web.layout import register_layout_helpers
from web.remote import register_template_helpers
from web.routes import route_handlers
from web.services import Services
from web.static import StaticFileSystem
from web.templating import TemplateEngine

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "web" / "templates"
STATIC = ROOT / "web" / "static"

log = logging.getLogger("remote_stack")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


async def log_durability(redis: RedisClient) -> None:
    """Say at start whether Redis keeps acknowledged actor writes (AOF on, maxmemory-policy noeviction)."""
    try:
        warnings = await check_durability(redis)
    except (RedisError, OSError) as exc:
        log.warning("redis durability: not checked, Redis did not answer: %s", exc)
        return
    for warning in warnings:
        log.warning("redis durability: %s", warning)
    if not warnings:
        log.info("redis durability: ok (AOF on, maxmemory-policy noeviction)")


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start what the app needs (Redis, database, migrations) and stop it in reverse order."""
    settings: Settings = app.state.settings
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        redis_url = await asyncio.to_thread(embedded.start)
        embedded.supervise()  # restarted on the same AOF if it dies; stop() ends this first
    redis = create_redis(redis_url)
    alarms: AlarmScheduler | None = None
    engine = db.make_engine(settings.resolved_database_url)
    db.bind_engine(engine)
    try:
        await db.prepare(engine, pool_size=settings.db_pool_size)
        log.info("database: %s", await db.describe(engine))
        await migrate(engine, settings.data_dir)
        await log_durability(redis)
        if settings.metrics_enabled:
            metrics.instrument_actor_calls(redis)
        app.state.services = Services(
            settings=settings,
            redis=redis,
            engine=engine,
            auth=create_auth(settings, redis),
            # Per-org rate limits, usage and tenant actors follow the session's active organization.
            tenant_of=active_tenant,
        )
        # Every app process runs its share of due actor alarms (claims are atomic across processes).
        policy = AlarmPolicy(
            max_tries=settings.alarm_max_tries,
            backoff_base=settings.alarm_backoff_seconds,
            lease=settings.alarm_lease_seconds,
            repair_interval=settings.alarm_repair_seconds,
        )
        alarms = AlarmScheduler(app.state.services.actors, policy)
        if settings.metrics_enabled:
            metrics.instrument_alarms(alarms)
        await alarms.start()
        await arm_sweeper(app.state.services.actors, settings.sweep_interval_seconds)
        yield
    finally:
        if alarms is not None:
            await alarms.stop()
        await close_auth(getattr(getattr(app.state, "services", None), "auth", None))
        await db.close(engine)
        await redis.aclose()
        if embedded is not None:
            # Last, so in-flight requests that still touch Redis can finish first.
            await asyncio.to_thread(embedded.stop)


def template_helpers(engine: JinjaTemplateEngine) -> None:
    register_template_helpers(engine)
    register_oauth_helpers(engine)
    register_layout_helpers(engine.engine)


def create_app(settings: Settings) -> Litestar:
    """The Litestar app for `settings`; nothing starts until its lifespan runs."""
    csrf_config = CSRFConfig(
        secret=settings.auth_secret,
        cookie_secure=settings.is_production,
        cookie_samesite="lax",
        # piccolo-admin checks its own double-submit token; /admin-tools pages use ours. Probes
        # get no csrftoken cookie: a load balancer polling /healthz needs none, and making one
        # (a random token, its HMAC, a Set-Cookie) was most of what /ping cost.
        exclude=["^/admin(/|$)", *security.PROBE_PATHS],
    )
    app = Litestar(
        # Litestar configures the root logger itself; give it our level so LOG_LEVEL means what it says.
        logging_config=LoggingConfig(root={"handlers": ["queue_listener"], "level": settings.log_level}),
        route_handlers=[
            *route_handlers(),
            *admin_routes(settings),
            *metrics.route_handlers(settings),
            create_static_files_router(
                path="/static", directories=[STATIC], file_system=StaticFileSystem(), include_in_schema=False
            ),
        ],
        lifespan=[lifespan, live.lifespan],  # live after services: its streams end first
        # Plain Request by default: HTMXRequest and its HTMXDetails point at each other, so every
        # request became cyclic garbage that only the garbage collector frees (long pauses under
        # load). Our code reads the HX-* headers directly; a route that wants `request.htmx` can
        # set `request_class=HTMXRequest` for itself.
        plugins=[HTMXPlugin(HTMXConfig(set_request_class_globally=False))],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=TemplateEngine, engine_callback=template_helpers
        ),
        exception_handlers={**exception_handlers(), NotSignedIn: handle_not_signed_in},
        # One middleware for the request id, proxies, origin check, session, CSRF (it stands in
        # for `Litestar(csrf_config=...)`, which would add Litestar's own check as well), response
        # headers, access log and metrics: web/edge.py.
        middleware=[edge.middleware(settings, csrf_config)],
        # The signed-in user's theme, language and timezone, for whatever HTML the request renders.
        before_request=page_state.load_page_state,
        allowed_hosts=security.allowed_hosts(settings),
        openapi_config=api_docs.openapi_config(),
        debug=False,
    )
    app.state.settings = settings
    # Set after construction, once every route was built with the edge middleware and not also
    # Litestar's plain CSRF one; csrf_token(), our middleware and the OpenAPI consoles (Swagger,
    # RapiDoc: they copy the token into their requests) read it. A route added later with
    # app.register() gets Litestar's check too: still correct, one check slower.
    app.csrf_config = csrf_config
    return app


def asgi() -> Litestar:
    """ASGI factory for servers (granian, uvicorn): settings from the environment."""
    # Each server worker dies with the process that started it: `serve`/`dev` killed outright
    # (SIGKILL) must not leave workers holding the port.
    die_with_parent(signal.SIGTERM)
    settings = Settings.from_env()
    configure_logging(settings)
    app = create_app(settings)
    app.on_startup.append(settle_heap)
    return app


if __name__ == "__main__":
    from cli import main

    raise SystemExit(main(create_app=create_app))
