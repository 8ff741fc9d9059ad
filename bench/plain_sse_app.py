"""The floor for `bench.sse`: a bare ASGI SSE writer, as little as granian and Python can do per stream.

`GET /events` streams `id:`-numbered messages; `POST /bump` makes the next one, encodes it once and
wakes every stream with it (no Redis, no framework, no template). Run under the same granian settings
as `serve`, it shows what fanning one change out to N sockets costs on this machine by itself.

Serve: `python -m granian --interface asgi --backpressure 10256 bench.plain_sse_app:app`.
"""

from __future__ import annotations

import asyncio
from typing import Any

# About the size of the counter's fragment, so both servers write the same bytes per stream.
PADDING = "x" * 300


class Broadcast:
    """The latest message and a future every stream waits on, replaced at each change."""

    def __init__(self) -> None:
        self.version = 0
        self.message = self.encode(0)
        self.changed: asyncio.Future[bytes] | None = None

    @staticmethod
    def encode(version: int) -> bytes:
        return f"id: {version}\r\nevent: counter\r\ndata: <p>{version}</p>{PADDING}\r\n\r\n".encode()

    def waiter(self) -> asyncio.Future[bytes]:
        if self.changed is None:
            self.changed = asyncio.get_running_loop().create_future()
        return self.changed

    def bump(self) -> int:
        self.version += 1
        self.message = self.encode(self.version)
        changed, self.changed = self.changed, None
        if changed is not None:
            changed.set_result(self.message)
        return self.version


broadcast = Broadcast()
JSON = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path, method = scope["path"], scope["method"]
    if path == "/bump" and method == "POST":
        body = b'{"count": %d}' % broadcast.bump()
        await send({"type": "http.response.start", "status": 200, "headers": JSON})
        await send({"type": "http.response.body", "body": body})
    elif path == "/events":
        await stream(receive, send)
    else:
        await send({"type": "http.response.start", "status": 200 if path == "/ping" else 404, "headers": []})
        await send({"type": "http.response.body", "body": b"pong" if path == "/ping" else b""})


async def stream(receive: Any, send: Any) -> None:
    gone = asyncio.ensure_future(receive())  # the GET's empty body; then http.disconnect
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": broadcast.message, "more_body": True})
    # Every stream awaits the one shared future (asyncio.wait on it would add and remove 10,000
    # callbacks per change); a client gone is noticed at the next change.
    while True:
        message = await broadcast.waiter()
        if gone.done():
            if gone.result()["type"] == "http.disconnect":
                return
            gone = asyncio.ensure_future(receive())
        await send({"type": "http.response.body", "body": message, "more_body": True})
