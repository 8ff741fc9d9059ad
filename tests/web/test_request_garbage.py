"""Serving a request leaves no reference cycles: refcounting frees it all, the collector finds nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.types import HTTPRequestEvent, Message, Scope

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


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {  # type: ignore[return-value]
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", HOST), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def serve(app: Litestar, scope: Scope) -> int:
    """One request straight through the ASGI app, the way a server calls it; returns the status."""
    statuses: list[int] = []

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_hot_routes_leave_no_cyclic_garbage(client: Client, no_automatic_gc: None) -> None:
    """Cycles would make every request wait for the collector: under load that was the p99 (issue 11)."""
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
        "GET /ping": http_scope("GET", "/ping", []),
        "GET / (signed out)": http_scope("GET", "/", []),
        "GET / (signed in)": http_scope("GET", "/", signed_in),
        "POST /counter/gc (htmx)": http_scope("POST", "/counter/gc", htmx_post),
    }
    app = client.app
    for name, scope in requests.items():
        assert run(client, serve, app, dict(scope)) == 200, name  # warm: caches filled, templates compiled
        gc.collect()
        for _ in range(5):
            assert run(client, serve, app, dict(scope)) == 200, name
        assert gc.collect() == 0, f"{name} left reference cycles behind"
