"""The app's one middleware (web/edge.py): the only layer on every route, Litestar's CSRF token format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.response import Stream
from litestar.routes import ASGIRoute, HTTPRoute
from litestar.testing import TestClient

from settings import Settings
from tests.conftest import TEST_SECRET
from web.auth.csrf import tokens_match
from web.edge import EdgeMiddleware
from web.edge import middleware as edge_middleware

SECRET = "s" * 32


def test_every_route_runs_the_one_middleware_and_no_hook(settings: Settings) -> None:
    from app import create_app

    app = create_app(settings.with_overrides(metrics_enabled=True))
    (only,) = app.middleware
    assert isinstance(only, DefineMiddleware) and only.middleware is EdgeMiddleware
    # No before_send hook: Litestar would await it for every message of every response.
    assert app.before_send == []
    handlers: list[BaseRouteHandler] = [
        h for route in app.routes if isinstance(route, HTTPRoute) for h in route.route_handlers
    ]
    handlers += [route.route_handler for route in app.routes if isinstance(route, ASGIRoute)]
    assert len(handlers) > 20
    for handler in handlers:
        assert handler.resolve_middleware() == [only], handler


def _litestar_match(submitted: str, cookie: str) -> bool:
    check = CSRFMiddleware(app=None, config=CSRFConfig(secret=SECRET))  # type: ignore[arg-type]
    return check._csrf_tokens_match(submitted, cookie)


def _cases() -> dict[str, tuple[str, str]]:
    one, other = generate_csrf_token(SECRET), generate_csrf_token(SECRET)
    foreign = generate_csrf_token("t" * 32)
    return {
        "same": (one, one),
        "other": (one, other),
        "other-secret": (one, foreign),
        "both-other-secret": (foreign, foreign),
        "tampered-hash": (one[:64] + "0" * 64, one),
        "short-cookie": (one, one[:64]),
        "empty": ("", one),
        "not-a-token": ("x", "x"),
        "upper-case": (one.upper(), one),
    }


# Named cases: the tokens are random, and xdist's workers must collect the same test ids.
@pytest.mark.parametrize(("submitted", "cookie"), _cases().values(), ids=_cases().keys())
def test_token_check_agrees_with_litestars(submitted: str, cookie: str) -> None:
    assert tokens_match(submitted, cookie, SECRET) == _litestar_match(submitted, cookie)


def test_non_ascii_token_is_a_mismatch_not_an_error() -> None:
    token = generate_csrf_token(SECRET)
    assert not tokens_match(token[:-1] + "é", token, SECRET)


def test_a_stream_passes_the_middleware_one_message_at_a_time() -> None:
    """Each chunk reaches the server before the handler makes the next one: nothing is buffered."""
    delivered: list[bytes] = []
    seen_when_producing: list[list[bytes]] = []

    @get("/stream", sync_to_thread=False)
    def stream() -> Stream:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                seen_when_producing.append([c for c in delivered if c])
                yield f"chunk{n}".encode()

        return Stream(chunks())

    settings = Settings(app_env="development", auth_secret=TEST_SECRET)
    app = Litestar(route_handlers=[stream], middleware=[edge_middleware(settings, CSRFConfig(secret=SECRET))])
    messages: list[dict[str, Any]] = []

    async def serve() -> None:
        finished = asyncio.Event()
        requested: list[bool] = []

        async def receive() -> dict[str, Any]:
            if not requested:
                requested.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()  # like a server: the client goes once the response is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message["type"] == "http.response.body":
                delivered.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        await app(scope, receive, send)  # type: ignore[arg-type]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/stream",
        "raw_path": b"/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(serve())
    assert seen_when_producing == [[], [b"chunk0"], [b"chunk0", b"chunk1"]]
    start = messages[0]
    names = {name for name, _ in start["headers"]}
    assert start["type"] == "http.response.start"
    assert {b"x-request-id", b"x-content-type-options", b"set-cookie"} <= names


def test_answers_made_outside_the_route_carry_the_edge_headers(client: TestClient[Litestar]) -> None:
    """No route (404) and the edge's own refusal (403) are answered past its send wrapper."""
    missing = client.get("/nowhere", headers={"Accept": "application/json", "X-Request-ID": "req-404-abcdef"})
    refused = client.post("/auth/sign-out", headers={"Origin": "https://evil.example"})
    assert (missing.status_code, refused.status_code) == (404, 403)
    assert missing.headers["x-request-id"] == "req-404-abcdef"
    for response in (missing, refused):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "content-security-policy-report-only" in response.headers
        assert response.headers["x-request-id"]


def test_an_error_page_outside_the_route_ends_the_flash_it_shows(client: TestClient[Litestar]) -> None:
    client.cookies.set("flash", "anything")
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert any(v.startswith("flash=") and "Max-Age=0" in v for v in page.headers.get_list("set-cookie"))
