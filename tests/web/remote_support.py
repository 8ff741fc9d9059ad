"""Throwaway Litestar apps for remote-function tests: real CSRF, templates, error handlers and Redis."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import msgspec
from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.enums import ScopeType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from actors.connection import create_redis
from domain.auth.types import AuthUser
from domain.errors import Conflict, ValidationFailed
from web import flash, request_id
from web.errors import exception_handlers
from web.layout import register_layout_helpers
from web.remote import Context, RateLimit, Registry, command, form, query, register_template_helpers

SECRET = "s" * 16 + "0123456789abcdefghijklmnopqrstuv"
BASE_URL = "http://testserver.local"
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
USER_HEADER = "x-test-user"
ALICE = AuthUser(id=7, email="alice@example.com", name="Alice")

# Partials and pages of the throwaway functions; the real base.html wraps the pages.
TEST_TEMPLATES = {
    "partials/note.html": (
        '<div id="note">{% if note %}<p class="title">{{ note.title }}</p>'
        '<p class="count">{{ note.count }}</p>{% endif %}'
        '{% include "partials/field_errors.html" %}</div>'
    ),
    "pages/note.html": (
        '{% extends "base.html" %}{% block content %}<h1>Note page</h1>'
        '{% include "partials/note.html" %}{% endblock %}'
    ),
    "pages/button.html": (
        '{% extends "base.html" %}{% block content %}'
        '{{ remote.button("add_note", "Add", title="hi") }}{{ remote.link("get_note", "Show", title="x") }}'
        '<div {{ remote.attrs("get_note", title="y", trigger="every 2s") }}></div>'
        '<div id="post-attrs" {{ remote.attrs("limited") }}></div>'
        "{% endblock %}"
    ),
    "pages/flashes_only.html": '{% include "partials/flashes.html" %}',
}


class Mood(enum.Enum):
    happy = "happy"
    sad = "sad"


class Note(msgspec.Struct):
    """What the throwaway functions return."""

    title: str
    count: int = 1
    mood: Mood = Mood.happy
    tags: list[str] = msgspec.field(default_factory=list)


class NoteForm(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    count: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    mood: Mood = Mood.happy
    urgent: bool = False


Title = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class Calls:
    """Every argument set a throwaway function was called with (to prove invalid input never arrives)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []


def build_registry(calls: Calls) -> Registry:
    registry = Registry()

    @query(
        registry=registry, public=True, partial="partials/note.html", page="pages/note.html", result_as="note"
    )
    async def get_note(
        ctx: Context, title: Title, count: Annotated[int, msgspec.Meta(ge=0)] = 1, mood: Mood = Mood.happy
    ) -> Note:
        calls.seen.append(("get_note", {"title": title, "count": count, "mood": mood}))
        if title == "boom":
            raise RuntimeError("secret internals")
        if title == "taken":
            raise Conflict("That title is taken")
        return Note(title=title, count=count, mood=mood)

    @command(
        registry=registry,
        signed_in="Please sign in to add a note",
        partial="partials/note.html",
        page="pages/note.html",
        result_as="note",
        flash="Note added",
        path="/notes/{title}",
    )
    async def add_note(ctx: Context, title: Title, count: int = 1, tags: list[str] | None = None) -> Note:
        calls.seen.append(("add_note", {"title": title, "count": count, "tags": tags}))
        if title == "boom":
            raise RuntimeError("secret internals")
        if title == "bad":
            raise ValidationFailed("Not that one", field_errors={"title": "Pick another title"})
        return Note(title=title, count=count, tags=tags or [])

    @form(registry=registry, public=True, partial="partials/note.html", result_as="note")
    async def note_form(ctx: Context, data: NoteForm) -> Note:
        calls.seen.append(("note_form", {"data": data}))
        assert isinstance(data, NoteForm)
        return Note(title=data.title, count=data.count, mood=data.mood)

    @query(registry=registry, signed_in="Please sign in to see secrets", result_as="note")
    async def get_secret(ctx: Context) -> Note:
        return Note(title=ctx.require_user().name)

    @command(registry=registry, public=True, rate_limit=RateLimit(limit=2, window_seconds=60, per="ip"))
    async def limited(ctx: Context) -> Note:
        calls.seen.append(("limited", {}))
        return Note(title="ok")

    return registry


def test_user(header: bytes | None) -> AuthUser | None:
    """`1` is ALICE; another number N is user N (user100@example.com); anything else nobody."""
    if header == b"1":
        return ALICE
    if header is not None and header.isdigit() and len(header) <= 9:
        return AuthUser(id=int(header), email=f"user{int(header)}@example.com", name=f"User {int(header)}")
    return None


def user_middleware(app: ASGIApp) -> ASGIApp:
    """Stands in for the auth middleware: `x-test-user: 1` signs the request in as ALICE (N: user N)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = dict(scope["headers"])
            cast(dict[str, Any], scope)["user"] = test_user(headers.get(USER_HEADER.encode()))
        await app(scope, receive, send)

    return middleware


@get("/page/button", include_in_schema=False)
async def button_page() -> Template:
    return Template("pages/button.html")


@get("/page/flashes", include_in_schema=False)
async def flashes_page() -> Template:
    return Template("pages/flashes_only.html")


@get("/page/crash", include_in_schema=False)
async def crash_page() -> Template:
    raise RuntimeError("secret internals")


def make_app(registry: Registry, template_dir: Path, redis_url: str | None = None, **extra: Any) -> Litestar:
    """An app serving `registry`'s functions, with the real error handlers, templates and CSRF."""
    for name, text in TEST_TEMPLATES.items():
        (template_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (template_dir / name).write_text(text)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if redis_url is None:
            yield
            return
        from web.services import Services

        redis = create_redis(redis_url)
        # Only the actors are used by remote functions; the database engine is not.
        app.state.services = Services(
            settings=cast(Any, None),
            redis=redis,
            engine=cast(Any, None),
        )
        try:
            yield
        finally:
            await redis.aclose()

    def callback(engine: JinjaTemplateEngine) -> None:
        register_template_helpers(engine, registry)
        register_layout_helpers(engine.engine)

    return Litestar(
        route_handlers=[*registry.route_handlers(), button_page, flashes_page, crash_page],
        csrf_config=CSRFConfig(secret=SECRET),
        template_config=TemplateConfig(
            directory=[template_dir, TEMPLATES], engine=JinjaTemplateEngine, engine_callback=callback
        ),
        exception_handlers=exception_handlers(),
        before_send=[request_id.before_send, flash.before_send],
        middleware=[user_middleware],
        lifespan=[lifespan],
        **extra,
    )


def csrf(client: TestClient[Litestar]) -> str:
    """A valid CSRF token (the cookie a GET hands out, echoed back)."""
    client.get("/page/button")
    token = client.cookies.get("csrftoken")
    assert token
    return token
