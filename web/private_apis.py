"""Private library internals the app relies on, each named once here (contracts: test_private_apis.py).

An upgrade that moves or reshapes one of these fails those tests by name instead of breaking a
request path at run time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

# Litestar: a remote function's route handler builds its signature and kwargs models from the
# function's own parameters (web/remote/openapi.py), and the session-bound CSRF check skips
# excluded routes the way Litestar's own middleware does (web/auth/csrf.py).
from litestar._kwargs import KwargsModel

# Litestar: the edge middleware parses the Cookie header once, as `request.cookies` would, and keeps
# the result where `request.cookies` finds it (web/auth/cookies.py).
from litestar._parsers import parse_cookie_string
from litestar._signature import SignatureModel
from litestar.middleware._utils import should_bypass_middleware

__all__ = [
    "KwargsModel",
    "SignatureModel",
    "loop_signal_handler",
    "parse_cookie_string",
    "should_bypass_middleware",
]


def loop_signal_handler(
    loop: asyncio.AbstractEventLoop, sig: int
) -> tuple[Callable[..., object], tuple[Any, ...]] | None:
    """The callback (and its args) a server registered for `sig` with `loop.add_signal_handler`.

    asyncio keeps them in `loop._signal_handlers` with no public reader; uvloop keeps no such table
    (None then: the server used `signal.signal`, which `signal.getsignal` reads).
    """
    handlers: dict[int, asyncio.Handle] = getattr(loop, "_signal_handlers", None) or {}
    handle = handlers.get(sig)
    if handle is None:
        return None
    callback: Callable[..., object] = handle._callback  # type: ignore[attr-defined]
    return callback, tuple(handle._args)  # type: ignore[attr-defined]
