"""An SSE response written straight to ASGI `send`: no task group, no task besides the server's own."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.response.base import ASGIResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Send
from litestar.utils.helpers import get_enum_string_value

# Every message of a stream goes out as one of these, its body the bytes shared by every stream.
END: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}


class Hangup:
    """Tells when a response's client has gone, by waiting on the server's `receive` for `http.disconnect`.

    Waited on with a done-callback rather than a task: granian's `receive()` is a future already,
    so a stream adds no task to the one the server runs the request in (another server's
    coroutine gets one from `ensure_future`; still no task group).
    """

    __slots__ = ("_callback", "_pending", "_receive", "gone")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._callback: Callable[[], object] | None = None
        self._pending: asyncio.Future[Any] | None = None
        self.gone = False
        self._listen()

    def _listen(self) -> None:
        self._pending = asyncio.ensure_future(self._receive())
        self._pending.add_done_callback(self._received)

    def _received(self, future: asyncio.Future[Any]) -> None:
        if self._pending is None:
            return  # closed
        failed = future.cancelled() or future.exception() is not None
        if not failed and future.result().get("type") != "http.disconnect":
            self._listen()  # the (empty) request body of the GET: keep waiting
            return
        self._pending = None
        self.gone = True
        if self._callback is not None:
            self._callback()

    def on_gone(self, callback: Callable[[], object]) -> None:
        """Call `callback` once the client has gone (at once if it already has)."""
        self._callback = callback
        if self.gone:
            callback()

    def close(self) -> None:
        """Stop waiting: the response has ended."""
        pending, self._pending, self._callback = self._pending, None, None
        if pending is not None and not pending.done():
            pending.remove_done_callback(self._received)
            pending.cancel()


class LiveASGIResponse(ASGIResponse):
    """Writes each chunk of the stream as it comes: the chunks are bytes encoded once for every stream."""

    __slots__ = ("open_stream",)

    _should_set_content_length = False

    def __init__(self, open_stream: Callable[[Hangup], AsyncIterator[bytes]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.open_stream = open_stream

    async def send_body(self, send: Send, receive: Receive) -> None:
        hangup = Hangup(receive)
        stream = self.open_stream(hangup)
        try:
            async for chunk in stream:
                event: HTTPResponseBodyEvent = {
                    "type": "http.response.body",
                    "body": chunk,
                    "more_body": True,
                }
                await send(event)
            if not hangup.gone:
                await send(END)
        finally:
            hangup.close()
            await stream.aclose()  # type: ignore[attr-defined]


class LiveStream(Response[None]):
    """A response streaming `open_stream(hangup)`'s bytes; the stream is opened when the body starts.

    Not opened at all when the response fails before its body: whatever `open_stream` holds
    (a stream slot) is then given back as it is collected.
    """

    __slots__ = ("open_stream",)

    def __init__(
        self,
        open_stream: Callable[[Hangup], AsyncIterator[bytes]],
        *,
        headers: dict[str, str],
        media_type: MediaType | str,
    ) -> None:
        super().__init__(None, headers=headers, media_type=media_type)
        self.open_stream = open_stream

    def to_asgi_response(
        self,
        app: Any,
        request: Request[Any, Any, Any],
        *,
        background: Any = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: Any = None,
    ) -> ASGIResponse:
        return LiveASGIResponse(
            self.open_stream,
            background=self.background or background,
            content_length=0,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response,
            media_type=get_enum_string_value(media_type or self.media_type or MediaType.TEXT),
            status_code=self.status_code or status_code,
        )
