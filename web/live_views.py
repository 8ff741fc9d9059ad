"""`live(kind, partial=...)`: declare once that an actor kind's changes re-render a partial on open pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from jinja2 import Environment
from markupsafe import Markup, escape

from actors.keys import validate_kind
from domain.auth.types import AuthUser

ID_SLOT = "{id}"


@dataclass(frozen=True)
class LiveView:
    """One declaration: events of actor `kind` render `partial` (with `context_name` = the state) over SSE.

    `path` holds `{id}` for a view of any actor of the kind; with `key` it holds no id
    and always streams the signed-in user's own actor, `key(user)` (per-user state like preferences).
    """

    kind: str
    partial: str
    context_name: str
    path: str
    key: Callable[[AuthUser], str] | None = None

    @property
    def event(self) -> str:
        """The SSE event name the stream sends and the page's `sse-swap` listens for."""
        return self.kind

    @property
    def partial_id(self) -> str:
        """The partial's root element id, its file name by convention (like remote functions' partials)."""
        return self.partial.rsplit("/", 1)[-1].split(".", 1)[0]

    def url(self, actor_id: str | None = None, since: int | None = None) -> str:
        if self.key is None:
            if actor_id is None:
                raise TypeError(f"live view {self.kind!r} needs the actor id")
            path = self.path.replace(ID_SLOT, quote(str(actor_id), safe=""))
        else:
            path = self.path
        return path if since is None else f"{path}?since={int(since)}"


class LiveViews:
    """The declared live views by kind: web/live.py serves a stream for each, templates wire them by kind."""

    def __init__(self) -> None:
        self._views: dict[str, LiveView] = {}

    def add(self, view: LiveView) -> None:
        existing = self._views.get(view.kind)
        if existing is not None and existing != view:
            raise ValueError(f"live view for kind {view.kind!r} is declared twice")
        paths = {other.path: other.kind for other in self._views.values() if other.kind != view.kind}
        if view.path in paths:
            raise ValueError(f"live views {paths[view.path]!r} and {view.kind!r} share the path {view.path}")
        self._views[view.kind] = view

    def get(self, kind: str) -> LiveView:
        try:
            return self._views[kind]
        except KeyError:
            raise LookupError(f"no live view is declared for actor kind {kind!r}") from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._views

    def __iter__(self) -> Iterator[LiveView]:
        return iter(sorted(self._views.values(), key=lambda view: view.kind))


LIVE_VIEWS = LiveViews()


def live(
    kind: str,
    *,
    partial: str,
    context_name: str | None = None,
    path: str | None = None,
    key: Callable[[AuthUser], str] | None = None,
    registry: LiveViews | None = None,
) -> LiveView:
    """Declare a live view; the app serves its SSE stream and `live.attrs`/`live.listener` wire a page to it.

    The partial renders one state of the actor (from `get(id)` on the kind's Actor class, or
    `state_from_event` of a change) as `context_name` (default: the kind), and marks its root element
    `hx-swap-oob="true"` when `oob` is set: every stream message is swapped in out-of-band. The default
    path is `/live/<kind>/{id}/events`, or `/live/<kind>/events` for a per-user view (`key=`).
    """
    validate_kind(kind)
    if path is None:
        path = f"/live/{kind}/events" if key is not None else f"/live/{kind}/{ID_SLOT}/events"
    if not path.startswith("/") or (ID_SLOT in path) == (key is not None) or path.count("{") > 1:
        raise ValueError(
            f"live view {kind!r}: path {path!r} must start with / and hold {ID_SLOT} "
            "exactly when no key= is given"
        )
    view = LiveView(kind=kind, partial=partial, context_name=context_name or kind, path=path, key=key)
    (LIVE_VIEWS if registry is None else registry).add(view)
    return view


class LiveHelpers:
    """The `live` object templates see: `live.attrs(kind, id, since=version)` and `live.listener(kind)`.

    The element with `attrs` holds the connection; the `listener` inside it takes each message and
    swaps only out-of-band: the partial is replaced by its id wherever it stands inside, while the
    connection's element stays, however often other swaps replace what it contains.
    """

    def __init__(self, registry: LiveViews) -> None:
        self.registry = registry

    def attrs(self, kind: str, actor_id: str | None = None, *, since: int | None = None) -> Markup:
        """`hx-ext="sse" sse-connect=...` for the element that holds the live partial (and the listener)."""
        url = self.registry.get(kind).url(actor_id, since)
        return Markup(f'hx-ext="sse" sse-connect="{escape(url)}"')  # noqa: S704 (escaped)

    def declared(self, kind: str) -> bool:
        """Whether `kind` has a live view in this app (a layout shared by apps that may not declare it)."""
        return kind in self.registry

    def listener(self, kind: str) -> Markup:
        """The hidden `sse-swap` element for `kind`'s messages; they only carry out-of-band swaps."""
        event = escape(self.registry.get(kind).event)
        return Markup(f'<div sse-swap="{event}" hx-swap="none" hidden></div>')  # noqa: S704 (escaped)


def register_template_helpers(environment: Environment, registry: LiveViews = LIVE_VIEWS) -> None:
    """Make `live` available in templates (TemplateConfig's engine_callback, before anything renders)."""
    environment.globals["live"] = LiveHelpers(registry)
