"""Serving a request leaves no reference cycles: refcounting frees it all, the collector finds nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import cast

import pytest
from litestar import Litestar
from litestar.types import HTTPRequestEvent, Message, Scope

from bench.common import http_scope
from tests.conftest import TEST_BASE_URL
from tests.web.auth_support import Client, csrf_token, fast_hashing, run, signed_in_user

HOST = TEST_BASE_URL.split("://", 1)[1].encode()


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def scope_of(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return cast(Scope, http_scope(method, path, headers, host=HOST))


async def serve(app: Litestar, scope: Scope, body: bytes = b"") -> int:
    """One request straight through the ASGI app, the way a server calls it; returns the status."""
    statuses: list[int] = []

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_hot_routes_leave_no_cyclic_garbage(client: Client, no_automatic_gc: None) -> None:
    """Cycles would make every request wait for the collector: under load that decides the p99."""
    fast_hashing(client)
    signed_in_user(client, "gc@example.com")
    client.get("/")
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items()).encode()
    signed_in = [(b"cookie", cookie)]
    htmx_post = [
        *signed_in,
        (b"x-csrftoken", csrf_token(client).encode()),
        (b"hx-request", b"true"),
        (b"origin", TEST_BASE_URL.encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]
    requests = {
        "GET /ping": (scope_of("GET", "/ping", []), b""),
        "GET / (signed out)": (scope_of("GET", "/", []), b""),
        "GET / (signed in)": (scope_of("GET", "/", signed_in), b""),
        # A signed-in command that calls an actor, as a page's form sends it.
        "POST /_remote/update_preferences (htmx)": (
            scope_of("POST", "/_remote/update_preferences", htmx_post),
            b"theme=dark&language=en&timezone=UTC",
        ),
    }
    app = client.app
    for name, (scope, body) in requests.items():
        assert run(client, serve, app, dict(scope), body) == 200, (
            name
        )  # warm: caches filled, templates compiled
        gc.collect()
        for _ in range(5):
            assert run(client, serve, app, dict(scope), body) == 200, name
        assert gc.collect() == 0, f"{name} left reference cycles behind"
