"""What the answer and OpenAPI code read of a declared remote function (RemoteFunction satisfies it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from web.remote.context import Context
from web.remote.params import Field

Kind = Literal["query", "command", "form"]
# Runs before the input is parsed (after sign-in and rate limit): refuse early, e.g. a full queue.
Admit = Callable[[Context], None]
# Builds the template context of an answer from the base one (result, errors, values, message).
View = Callable[[Context, dict[str, object]], Awaitable[dict[str, object]]]


class RemoteSpec(Protocol):
    """A declared remote function as responses.py and openapi.py see it (no import of function.py)."""

    name: str
    kind: Kind
    partial: str | None
    page: str | None
    redirect: str
    flash: str | None
    stay: bool
    updates: tuple[str, ...]
    view: View | None
    path_fields: tuple[Field, ...]
    input_fields: tuple[Field, ...]
    record_type: type | None
    result_annotation: Any
