"""`query`, `command` and `form`: a typed `async def` becomes a Litestar route, still callable from Python."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

from litestar.handlers import HTTPRouteHandler

from web.remote.function import DEFAULT_MAX_BODY, RemoteFunction
from web.remote.ratelimit import RateLimit
from web.remote.spec import Admit, Kind, View

P = ParamSpec("P")
R = TypeVar("R")


class Registry:
    """Remote functions by name, so app.py mounts them all and templates call them by name."""

    def __init__(self) -> None:
        self._functions: dict[str, RemoteFunction[..., Any]] = {}

    def add(self, rf: RemoteFunction[..., Any]) -> None:
        existing = self._functions.get(rf.name)
        if existing is not None and existing.fn is not rf.fn:
            raise ValueError(f"two remote functions are named {rf.name!r}")
        self._functions[rf.name] = rf

    def get(self, name: str) -> RemoteFunction[..., Any]:
        try:
            return self._functions[name]
        except KeyError:
            raise LookupError(f"no remote function named {name!r}") from None

    def __iter__(self) -> Iterator[RemoteFunction[..., Any]]:
        return iter(self._functions.values())

    def route_handlers(self) -> list[HTTPRouteHandler]:
        return [rf.route_handler() for rf in self]


REGISTRY = Registry()


def _declare(
    kind: Kind,
    *,
    path: str | None = None,
    public: bool | None = None,
    signed_in: str | None = None,
    partial: str | None = None,
    page: str | None = None,
    result_as: str = "result",
    rate_limit: RateLimit | None = None,
    track: str | None = None,
    redirect: str = "/",
    flash: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    view: View | None = None,
    stay: bool = False,
    aliases: tuple[str, ...] = (),
    admit: Admit | None = None,
    updates: Sequence[str] = (),
    registry: Registry | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], RemoteFunction[P, R]]:
    def decorate(fn: Callable[P, Awaitable[R]]) -> RemoteFunction[P, R]:
        rf = RemoteFunction(
            fn,
            kind=kind,
            path=path,
            public=public,
            signed_in=signed_in,
            partial=partial,
            page=page,
            result_as=result_as,
            rate_limit=rate_limit,
            track=track,
            redirect=redirect,
            flash=flash,
            max_body=max_body,
            view=view,
            stay=stay,
            aliases=aliases,
            admit=admit,
            updates=updates,
        )
        (REGISTRY if registry is None else registry).add(rf)
        return rf

    return decorate


def query(
    *,
    path: str | None = None,
    public: bool | None = None,
    signed_in: str | None = None,
    partial: str | None = None,
    page: str | None = None,
    result_as: str = "result",
    rate_limit: RateLimit | None = None,
    track: str | None = None,
    registry: Registry | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], RemoteFunction[P, R]]:
    """A read (GET): arguments from the path and query string; `page` answers plain browser visits.

    Signed-in users only unless `public=True`; `signed_in="..."` words the sign-in prompt.
    `track="event"` counts each successful call in the caller's tenant's and user's usage.
    """
    return _declare(
        "query",
        path=path,
        public=public,
        signed_in=signed_in,
        partial=partial,
        page=page,
        result_as=result_as,
        rate_limit=rate_limit,
        track=track,
        registry=registry,
    )


def command(
    *,
    path: str | None = None,
    public: bool | None = None,
    signed_in: str | None = None,
    partial: str | None = None,
    page: str | None = None,
    result_as: str = "result",
    rate_limit: RateLimit | None = None,
    track: str | None = None,
    redirect: str = "/",
    flash: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    view: View | None = None,
    stay: bool = False,
    aliases: tuple[str, ...] = (),
    admit: Admit | None = None,
    updates: Sequence[str] = (),
    registry: Registry | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], RemoteFunction[P, R]]:
    """A change (POST, CSRF-checked): arguments from the path and a JSON object or form fields by name.

    Say who may call it: `public=True`, or `public=False` / `signed_in="..."` for signed-in users only.
    `admit(ctx)` may refuse before the input is parsed; `view(ctx, context)` completes the template
    context; `stay=True` answers a plain form post with the page itself rather than a redirect back;
    `ctx.redirect_to`, `ctx.set_cookie` and `ctx.flash` shape the answer from inside the function.
    `updates=["header_user", ...]` names other partials (partials/<name>.html, root element id
    <name>) the change shows in: an htmx caller gets them too, rendered with `oob` set, in one answer.
    `track="event"` counts each successful call in the caller's tenant's and user's usage (UsageActor).
    """
    return _declare(
        "command",
        path=path,
        public=public,
        signed_in=signed_in,
        partial=partial,
        page=page,
        result_as=result_as,
        rate_limit=rate_limit,
        track=track,
        redirect=redirect,
        flash=flash,
        max_body=max_body,
        view=view,
        stay=stay,
        aliases=aliases,
        admit=admit,
        updates=updates,
        registry=registry,
    )


def form(
    *,
    path: str | None = None,
    public: bool | None = None,
    signed_in: str | None = None,
    partial: str | None = None,
    page: str | None = None,
    result_as: str = "result",
    rate_limit: RateLimit | None = None,
    track: str | None = None,
    redirect: str = "/",
    flash: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    view: View | None = None,
    stay: bool = False,
    aliases: tuple[str, ...] = (),
    admit: Admit | None = None,
    updates: Sequence[str] = (),
    registry: Registry | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], RemoteFunction[P, R]]:
    """A command fed by an HTML form: its one Struct/dataclass parameter's fields are the form's fields.

    Like `command`, it must say who may call it (`public=True`, `public=False` or `signed_in="..."`),
    and may name the other partials it `updates`.
    """
    return _declare(
        "form",
        path=path,
        public=public,
        signed_in=signed_in,
        partial=partial,
        page=page,
        result_as=result_as,
        rate_limit=rate_limit,
        track=track,
        redirect=redirect,
        flash=flash,
        max_body=max_body,
        view=view,
        stay=stay,
        aliases=aliases,
        admit=admit,
        updates=updates,
        registry=registry,
    )
