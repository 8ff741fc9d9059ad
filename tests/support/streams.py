"""SSE streams on bare sockets against a served app: any source address, dropped with a TCP reset."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import httpx

from tests.support.server import RunningApp


@dataclass
class RawStream:
    """A stream request's socket and the response head the server sent on it."""

    sock: socket.socket
    status: int
    headers: dict[str, str]

    def reset(self) -> None:
        """Drop the connection as a crashed client or a lost network does: RST, no FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def open_stream(
    app: RunningApp, path: str, *, source: str = "127.0.0.1", cookie: str | None = None
) -> RawStream:
    """GET `path` from `source` (any 127.x.y.z address: Linux routes all of 127/8 to loopback)."""
    host, port = app.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"the server closed the connection after {head!r}")
        head += chunk
    status_line, *header_lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawStream(sock, int(status_line.split()[1]), headers)


def current_version(client: httpx.Client, path: str) -> tuple[int, int | None]:
    """A live view's status and the version its stream sends first (the current state's `id:`).

    None with 200 when the stream ended before any state: it does so, with a retry hint, while the
    app's Redis is unreachable.
    """
    with client.stream("GET", path, headers={"Accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            return response.status_code, None
        for line in response.iter_lines():
            if line.startswith("id: "):
                return 200, int(line[4:])
    return 200, None
