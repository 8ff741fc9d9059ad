"""A request id for every request: taken from a sane `X-Request-ID` or made up, logged and echoed back."""

from __future__ import annotations

import os
import re
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from web.headers import first_headers

SCOPE_KEY = "request_id"
HEADER = "x-request-id"
HEADER_BYTES = HEADER.encode()
# A proxy's id is reused only when it cannot smuggle anything into logs or headers.
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_of(scope: Scope) -> str:
    """This request's id, fixed on first use (from the incoming header when it is safe)."""
    state = cast(dict[str, Any], scope)
    existing = state.get(SCOPE_KEY)
    if isinstance(existing, str):
        return existing
    incoming = first_headers(scope).get(HEADER_BYTES, b"").decode("latin-1")
    request_id = incoming if SAFE_ID.match(incoming) else os.urandom(16).hex()
    state[SCOPE_KEY] = request_id
    return request_id


async def before_send(message: Message, scope: Scope) -> None:
    """`before_send` hook: every HTTP response carries `X-Request-ID`."""
    if message["type"] == "http.response.start":
        stamp(message, scope)


def stamp(message: Message, scope: Scope) -> None:
    """Add `X-Request-ID` to a response start that lacks one."""
    headers = MutableScopeHeaders.from_message(message)
    if HEADER not in headers:
        headers[HEADER] = request_id_of(scope)
