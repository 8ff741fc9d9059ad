"""Fault helpers for actor tests: a TCP proxy that drops connections after Redis ran a request."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)
class DroppingProxy:
    """Forwards loopback TCP to Redis; every `drop_every`-th request's reply is swallowed and the
    client's connection cut, so the command ran but the client never heard back (a lost reply)."""

    upstream_port: int
    drop_every: int
    requests: int = 0
    drops: int = 0
    port: int = 0
    _server: asyncio.Server | None = field(default=None, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        drop_next_reply = asyncio.Event()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()
                self.requests += 1
                if self.requests % self.drop_every == 0:
                    drop_next_reply.set()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if drop_next_reply.is_set():
                    self.drops += 1
                    return
                writer.write(data)
                await writer.drain()

        pumps = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await w.wait_closed()
