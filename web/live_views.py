"""`live(kind, partial=...)`: declare once that an actor kind's changes re-render a partial on open pages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from markupsafe import Markup, escape

from actors.keys import validate_kind
from actors.runtime import ActorSet, LiveReader

ID_SLOT = "{id}"
PATH_PARAM = re.compile(r"{(\w+)}")
# `await key(ctx, **path params)`: the id of the actor a keyed view streams, from the caller and the
# path (raising a DomainError, e.g. NotFound, when the caller may not follow it).
Key = Callable[..., Awaitable[str]]
# Builds a view's reader from the app's actors when the kind's own Actor is not what it renders.
ReaderOf = Callable[[ActorSet], LiveReader]


@dataclass(frozen=True)
class LiveView:
    """One declaration: events of actor `kind` render `partial` (with `context_name` = the state) over SSE.

    `path` holds `{id}` for a view of any actor of the kind; with `key` it holds no id but may hold
    other `{params}`, and streams the actor `await key(ctx, **params)` names: the signed-in user's
    own (preferences), or a tenant's actor once the key has checked the caller's membership.
    `name` tells several views of one kind apart (default: the kind).
    """

    kind: str
    partial: str
    context_name: str
    path: str
    key: Key | None = None
    name: str = ""
    reader: ReaderOf | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.kind)

    @property
    def params(self) -> list[str]:
        """The path's parameters other than `{id}` (a keyed view's, given to its key)."""
        return [p for p in PATH_PARAM.findall(self.path) if p != "id"]

    @property
    def event(self) -> str:
        """The SSE event name the stream sends and the page's `sse-swap` listens for."""
        return self.kind

    @property
    def partial_id(self) -> str:
        """The partial's root element id, its file name by convention (like remote functions' partials)."""
        return self.partial.rsplit("/", 1)[-1].split(".", 1)[0]

    def url(self, actor_id: str | None = None, since: int | None = None, **params: object) -> str:
        if self.key is None:
            if actor_id is None:
                raise TypeError(f"live view {self.name!r} needs the actor id")
            path = self.path.replace(ID_SLOT, quote(str(actor_id), safe=""))
        else:
            missing = set(self.params) - set(params)
            if missing:
                raise TypeError(f"live view {self.name!r} needs {', '.join(sorted(missing))}")
            path = PATH_PARAM.sub(lambda m: quote(str(params[m.group(1)]), safe=""), self.path)
        return path if since is None else f"{path}?since={int(since)}"


class LiveViews:
    """The declared live views by name: web/live.py serves a stream for each, templates wire them by name."""

    def __init__(self) -> None:
        self._views: dict[str, LiveView] = {}

    def add(self, view: LiveView) -> None:
        existing = self._views.get(view.name)
        if existing is not None and existing != view:
            raise ValueError(f"live view {view.name!r} is declared twice")
        paths = {other.path: other.name for other in self._views.values() if other.name != view.name}
        if view.path in paths:
            raise ValueError(f"live views {paths[view.path]!r} and {view.name!r} share the path {view.path}")
        self._views[view.name] = view

    def get(self, name: str) -> LiveView:
        try:
            return self._views[name]
        except KeyError:
            raise LookupError(f"no live view {name!r} is declared") from None

    def __contains__(self, name: object) -> bool:
        return name in self._views

    def __iter__(self) -> Iterator[LiveView]:
        return iter(sorted(self._views.values(), key=lambda view: view.name))


LIVE_VIEWS = LiveViews()


def live(
    kind: str,
    *,
    partial: str,
    context_name: str | None = None,
    path: str | None = None,
    key: Key | None = None,
    name: str | None = None,
    reader: ReaderOf | None = None,
    registry: LiveViews | None = None,
) -> LiveView:
    """Declare a live view; the app serves its SSE stream and `live.attrs`/`live.listener` wire a page to it.

    The partial renders one state of the actor (from `get(id)` on the kind's Actor class, or
    `state_from_event` of a change) as `context_name` (default: the kind), and marks its root element
    `hx-swap-oob="true"` when `oob` is set: every stream message is swapped in out-of-band. The default
    path is `/live/<kind>/{id}/events`, or `/live/<kind>/events` for a keyed view (`key=`).
    `reader(actors)` gives the state the partial renders when it is not the kind's own `get`
    (a fleet view rendering a tenant's children with their total); its `state_from_event` may
    answer None: read the state again.
    """
    validate_kind(kind)
    if path is None:
        path = f"/live/{kind}/events" if key is not None else f"/live/{kind}/{ID_SLOT}/events"
    slots = PATH_PARAM.findall(path)
    if (
        not path.startswith("/")
        or (ID_SLOT in path) == (key is not None)
        or path.count("{") != len(slots)
        or (key is None and len(slots) > 1)
    ):
        raise ValueError(
            f"live view {kind!r}: path {path!r} must start with / and hold {ID_SLOT} "
            "exactly when no key= is given (then no other parameter)"
        )
    view = LiveView(
        kind=kind,
        partial=partial,
        context_name=context_name or kind,
        path=path,
        key=key,
        name=name or kind,
        reader=reader,
    )
    (LIVE_VIEWS if registry is None else registry).add(view)
    return view


class LiveHelpers:
    """The `live` object templates see: `live.attrs(name, id, since=version)` and `live.listener(name)`.

    A view's name is its kind unless declared with `name=`; a keyed view takes its path parameters
    instead of an id: `live.attrs("org_counter", since=v, slug=..., name=...)`.

    The element with `attrs` holds the connection; the `listener` inside it takes each message and
    swaps only out-of-band: the partial is replaced by its id wherever it stands inside, while the
    connection's element stays, however often other swaps replace what it contains.
    """

    def __init__(self, registry: LiveViews) -> None:
        self.registry = registry

    def attrs(
        self, view: str, actor_id: str | None = None, *, since: int | None = None, **params: Any
    ) -> Markup:
        """`hx-ext="sse" sse-connect=...` for the element that holds the live partial (and the listener)."""
        url = self.registry.get(view).url(actor_id, since, **params)
        return Markup(f'hx-ext="sse" sse-connect="{escape(url)}"')  # noqa: S704 (escaped)

    def declared(self, view: str) -> bool:
        """Whether the live view is declared in this app (a layout shared by apps that may not declare it)."""
        return view in self.registry

    def listener(self, view: str) -> Markup:
        """The hidden `sse-swap` element for the view's messages; they only carry out-of-band swaps."""
        event = escape(self.registry.get(view).event)
        return Markup(f'<div sse-swap="{event}" hx-swap="none" hidden></div>')  # noqa: S704 (escaped)


def register_template_helpers(environment: Environment, registry: LiveViews = LIVE_VIEWS) -> None:
    """Make `live` available in templates (TemplateConfig's engine_callback, before anything renders)."""
    environment.globals["live"] = LiveHelpers(registry)
