"""A request's headers by name, read in one pass per request and kept in its scope.

The edge middleware (web/edge.py) makes the pass for every request it sees; whatever else reads a
header on the request path (the caller's kind, the remote function's context, form helpers) asks
here rather than building Litestar's case-insensitive `Headers` for a handful of lookups. Values are
each name's first, as `request.headers.get(name)` has them.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.types import Scope

SCOPE_KEY = "first_headers"


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """Each header's first value by lower-cased name (made once per request)."""
    raw = cast(dict[str, Any], scope)
    found: dict[bytes, bytes] | None = raw.get(SCOPE_KEY)
    if found is None:
        found = {}
        for name, value in scope.get("headers", ()):
            found.setdefault(name.lower(), value)
        raw[SCOPE_KEY] = found
    return found


def header(scope: Scope, name: bytes, default: str = "") -> str:
    """The first `name` header (lower-case bytes) as text, or `default`."""
    value = first_headers(scope).get(name)
    return value.decode("latin-1") if value is not None else default


def headers_changed(scope: Scope) -> None:
    """Code that rewrites `scope["headers"]` calls this: the next read makes the table again."""
    cast(dict[str, Any], scope).pop(SCOPE_KEY, None)
