"""Live views over SSE: a stream route per `live(...)` declaration, fanned out from one Redis subscription."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.sse import ServerSentEventMessage

from actors.events import ActorEvent
from actors.keys import InvalidActorId, validate_id
from actors.listen import EventHub, Gap, Subscription, cancel_and_wait
from actors.runtime import LiveReader, LiveState, live_reader
from domain.errors import DomainError
from settings import Settings
from web import heap
from web.errors import REDIS_DOWN, domain_error_response, error_response, retry_after_header
from web.live_views import ID_SLOT, LIVE_VIEWS, PATH_PARAM, LiveView, LiveViews
from web.private_apis import loop_signal_handler
from web.remote.context import context_from
from web.remote.openapi import ErrorBody
from web.services import get_services, services_from_state
from web.stream_slots import FULL_MESSAGE, FULL_RETRY_AFTER_S, StreamSlot, StreamSlots
from web.stream_writer import Hangup, LiveStream

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]

# Proxies (and some browsers) drop a connection that stays silent for 30-60 s.
HEARTBEAT_S = 15.0
# How long a browser waits before reconnecting after the stream ends (restart, deploy).
RETRY_MS = 1000
# At shutdown, how long streams get to say goodbye before Redis goes away under them.
DRAIN_S = 2.0
# Rendered fragments kept for reuse: every stream of one actor sends the same bytes.
RENDER_CACHE_SIZE = 512

_open_in_process = 0

# Fixed messages, encoded once. The first carries the retry hint, so even a stream that fails at
# once is retried at our pace.
HELLO = ServerSentEventMessage(data=None, retry=RETRY_MS, comment="live").encode()
HEARTBEAT = ServerSentEventMessage(data=None, comment="heartbeat").encode()
GOODBYE = ServerSentEventMessage(data=None, retry=RETRY_MS, comment="server restarting").encode()
# The last message of a stream whose Redis went away: the browser reconnects after the retry delay.
UNAVAILABLE = ServerSentEventMessage(data=None, retry=RETRY_MS, comment="unavailable").encode()
# What ends a stream that way: Redis down, or its subscription unconfirmed within the hub's timeout.
STREAM_UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_DOWN, TimeoutError)
# Put in a stream's queue to make it send HEARTBEAT; no actor's Gap has an empty kind.
BEAT = Gap(kind="", id="heartbeat")
# Put in a stream's queue when its client has gone, so it ends without waiting for a change.
GONE = Gap(kind="", id="gone")


def open_streams() -> int:
    """SSE streams open in this process right now (every app in it)."""
    return _open_in_process


@dataclass(eq=False)
class LiveStreams:
    """Per-app SSE state, kept at `app.state.live`: the shared EventHub and the open streams."""

    hub: EventHub
    readers: Mapping[str, LiveReader]  # the actor instance of each live view's kind
    render: Callable[[LiveView, LiveState], str]  # the fragment htmx swaps in, from the app's templates
    views: LiveViews = LIVE_VIEWS
    slots: StreamSlots = field(default_factory=lambda: StreamSlots.for_settings(Settings()))
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    # Messages rendered and encoded (each shared by every stream of its actor): one per version.
    encoded_messages: int = 0
    _subscriptions: set[Subscription] = field(default_factory=set)
    _encoded: dict[tuple[str, str, int], bytes] = field(default_factory=dict)
    _reads: dict[tuple[str, str, int], asyncio.Future[LiveState]] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return len(self._subscriptions)

    def message(self, view: LiveView, actor_id: str, state: LiveState) -> bytes:
        """The SSE message for `state`, rendered and encoded once for every stream of this process."""
        key = (view.name, actor_id, state.version)
        encoded = self._encoded.get(key)
        if encoded is None:
            if len(self._encoded) >= RENDER_CACHE_SIZE:
                self._encoded.clear()
            message = ServerSentEventMessage(
                data=self.render(view, state), event=view.event, id=state.version
            )
            encoded = self._encoded[key] = message.encode()
            self.encoded_messages += 1
        return encoded

    async def event_message(self, view: LiveView, event: ActorEvent) -> tuple[int, bytes]:
        """The message for a change and the version it shows (read afresh when the event is not a state)."""
        encoded = self._encoded.get((view.name, event.id, event.version))
        if encoded is not None:
            return event.version, encoded
        state = self.readers[view.name].state_from_event(event)
        if state is None:  # the event names a change, not the whole state (one child of a parent)
            return await self._read_after(view, event)
        return state.version, self.message(view, event.id, state)

    async def _read_after(self, view: LiveView, event: ActorEvent) -> tuple[int, bytes]:
        """The state read once after `event` for every stream of this process that gets it."""
        key = (view.name, event.id, event.version)
        read = self._reads.get(key)
        if read is None:
            if len(self._reads) >= RENDER_CACHE_SIZE:
                self._reads = {k: r for k, r in self._reads.items() if not r.done()}
            read = self._reads[key] = asyncio.ensure_future(self.current(view, event.id))
            # A failed read is not kept: the next stream to get the event tries again.
            read.add_done_callback(
                lambda done: (done.cancelled() or done.exception() is not None) and self._reads.pop(key, None)
            )
        # Shielded: one stream's client leaving must not cancel the read the others wait on.
        state = await asyncio.shield(read)
        return state.version, self.message(view, event.id, state)

    async def current(self, view: LiveView, actor_id: str) -> LiveState:
        return await self.readers[view.name].get(actor_id)

    async def heartbeats(self) -> None:
        """Every HEARTBEAT_S, a comment on every stream: one timer for the process, not one per stream."""
        while not self.closing.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HEARTBEAT_S):  # not wait_for: see actors/listen.py
                    await self.closing.wait()
            for sub in tuple(self._subscriptions):
                sub._deliver(BEAT)

    def close_all(self) -> None:
        """Wake every stream so it sends its `retry:` hint and ends (shutdown)."""
        self.closing.set()
        for sub in tuple(self._subscriptions):
            sub._deliver(Gap(sub.kind, sub.id))

    async def stream(
        self,
        view: LiveView,
        actor_id: str,
        after: int,
        slot: StreamSlot | None = None,
        hangup: Hangup | None = None,
    ) -> AsyncIterator[bytes]:
        """Changes of one actor newer than version `after`, the current state first if it is newer.

        `slot` is given back when the stream ends, and by a stream dropped before it started (its
        client gone before the first byte), as the slot is collected with it. `hangup` tells when
        the client has gone: the stream then ends at once, without waiting for its next message.
        """
        global _open_in_process
        try:
            yield HELLO
            if self.closing.is_set() or (hangup is not None and hangup.gone):
                return
            subscription = self.hub.subscribe(view.kind, actor_id)
            try:
                # Subscribed (confirmed by Redis) before reading the state, so nothing falls in between.
                async with subscription as events:
                    self._subscriptions.add(subscription)
                    _open_in_process += 1
                    if hangup is not None:
                        hangup.on_gone(lambda: subscription._deliver(GONE))
                    established = False
                    try:
                        last = after
                        state = await self.current(view, actor_id)
                        if state.version > last:
                            last = state.version
                            yield self.message(view, actor_id, state)
                        queue = events.queue
                        heap.STREAMS.established()
                        established = True
                        while not self.closing.is_set():
                            while queue.empty():
                                await queue.arrival()
                            item = queue.get_nowait()
                            if hangup is not None and hangup.gone:
                                return  # nobody to say goodbye to
                            if self.closing.is_set():
                                break
                            if item is BEAT:
                                yield HEARTBEAT
                            elif isinstance(item, ActorEvent):
                                if item.version > last:
                                    version, message = await self.event_message(view, item)
                                    if version > last:
                                        last = version
                                        yield message
                            else:
                                # A Gap: events were missed (reconnect, slow reader); the current state
                                # replaces them.
                                state = await self.current(view, actor_id)
                                if state.version > last:
                                    last = state.version
                                    yield self.message(view, actor_id, state)
                        yield GOODBYE
                    finally:
                        self._subscriptions.discard(subscription)
                        _open_in_process -= 1
                        if established:
                            heap.STREAMS.ended()
                        if self.closing.is_set() and not self._subscriptions:
                            self.drained.set()
            except STREAM_UNAVAILABLE as exc:
                # Redis is restarting, unreachable or not confirming the subscription in time: end the
                # stream cleanly rather than drop the connection; the browser comes back after the
                # retry delay for the current state.
                # Logged at debug: every stream ends at once, and the event hub logs the outage.
                log.debug("live stream of %s %s ended: Redis unavailable (%s)", view.kind, actor_id, exc)
                if hangup is None or not hangup.gone:
                    yield UNAVAILABLE
        finally:
            if slot is not None:
                slot.release()


def on_shutdown_signal(callback: Callable[[], None]) -> None:
    """Run `callback` as soon as SIGTERM/SIGINT arrives, before the server's own handler.

    Servers (granian, uvicorn) wait for open responses to finish before the lifespan's shutdown
    runs, and an SSE response never finishes by itself: streams must learn of the signal first.
    The server's handler is kept and still runs after ours. Granian on asyncio's loop registers
    it with `loop.add_signal_handler` (readable from the loop); on uvloop, whose table is not,
    that same call installs the loop's own `signal.signal` handler, chained like uvicorn's.
    """
    loop = asyncio.get_running_loop()
    if threading.current_thread() is not threading.main_thread():
        return  # signals are delivered to the main thread only (e.g. TestClient's portal thread)
    for sig in (signal.SIGTERM, signal.SIGINT):
        registered = loop_signal_handler(loop, sig)
        if registered is not None:  # the server used loop.add_signal_handler (granian)
            server_callback, args = registered

            def chained(server_callback: Any = server_callback, args: Any = args) -> None:
                callback()
                server_callback(*args)

            loop.add_signal_handler(sig, chained)
            continue
        previous = signal.getsignal(sig)
        if callable(previous):  # the server used signal.signal (uvicorn)

            def chained_sync(signum: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(callback)
                previous(signum, frame)

            signal.signal(sig, chained_sync)


def live_from_app(app: Litestar) -> LiveStreams:
    live: LiveStreams = app.state.live
    return live


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Create the process's EventHub after the services exist; at shutdown end every stream first."""
    services = services_from_state(app.state)
    engine = app.template_engine
    if engine is None:
        raise RuntimeError("web.live needs the app's template engine")
    views = list(LIVE_VIEWS)
    templates = {view.name: engine.get_template(view.partial) for view in views}
    live = LiveStreams(
        hub=EventHub(services.redis),
        readers={
            view.name: view.reader(services.actors)
            if view.reader is not None
            else live_reader(services.actors.of_kind(view.kind))
            for view in views
        },
        render=lambda view, state: templates[view.name].render(**{view.context_name: state, "oob": True}),
        slots=StreamSlots.for_settings(services.settings),
    )
    app.state.live = live
    on_shutdown_signal(live.close_all)
    loop = asyncio.get_running_loop()
    beating = loop.create_task(live.heartbeats())
    # Session invalidations ride the same pub/sub connection: while they arrive, signed-in
    # requests resolve their session from memory (domain/auth/local_cache.py).
    following = loop.create_task(services.auth.sessions.local.follow(live.hub)) if services.auth else None
    try:
        yield
    finally:
        beating.cancel()
        if following is not None:
            await cancel_and_wait(following, DRAIN_S)  # bounded: shutdown must not wait on it
        if live.open:
            log.info("closing %d live stream(s)", live.open)
        live.close_all()
        if live.open:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.drained.wait(), DRAIN_S)
        await live.hub.aclose()


def _version(raw: str | None, name: str) -> int | None:
    """A version the client echoes back; refused (422) unless the stream could have sent it: 0..2**63-1."""
    value = (raw or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and int(value) < 2**63):
        message = "Must be a version number: a whole number from 0 to 9223372036854775807"
        raise ValidationException(f"invalid {name}", extra=[{"key": name, "message": message}])
    return int(value)


def _open(request: AnyRequest, view: LiveView, actor_id: str, since: str | None) -> Response[Any]:
    live = live_from_app(request.app)
    # Refused input first: a 422 raised after admission would keep the slot.
    after = _version(request.headers.get("last-event-id"), "Last-Event-ID")
    if after is None:
        after = _version(since, "since")
    slot = live.slots.admit(request)
    if slot is None:
        return error_response(request, 503, FULL_MESSAGE, headers=retry_after_header(FULL_RETRY_AFTER_S))
    since_version = -1 if after is None else after
    # Pre-encoded messages written as they are: ServerSentEvent would re-encode each one per stream.
    return LiveStream(
        lambda hangup: live.stream(view, actor_id, since_version, slot, hangup),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def stream_route(view: LiveView) -> HTTPRouteHandler:
    """The SSE route of one live view: `event: <kind>`, `id:` the version, data: the partial, out-of-band.

    On a reconnect the browser sends `Last-Event-ID`; the page passes `since` (the version it
    rendered) for the first connection. Either way only newer states are sent, the current one
    at once. Past a stream cap (this worker's, or this client's) the answer is 503 with Retry-After.
    A keyed view (`key=`) has no id in its path: it streams the actor its key names from the caller
    and the path's other parameters (the user's own, or a tenant's once membership is checked).
    """
    handler: Callable[..., Awaitable[Response[Any]]]
    if view.key is None:
        # Named for the kind (`<kind>_id`), so the API docs read naturally.
        param = f"{view.kind}_id"

        async def any_actor(request: AnyRequest, since: str | None = None) -> Response[Any]:
            actor_id = str(request.path_params[param])
            try:
                validate_id(actor_id, what=f"{view.kind} id")
            except InvalidActorId as exc:
                raise ValidationException(str(exc)) from None
            return _open(request, view, actor_id, since)

        path, handler = view.path.replace(ID_SLOT, f"{{{param}:str}}"), any_actor
    else:
        key, params = view.key, view.params

        async def keyed_actor(request: AnyRequest, since: str | None = None) -> Response[Any]:
            # The key checks the caller (signed in, a member of the path's tenant) before naming the actor.
            try:
                actor_id = await key(
                    context_from(request), **{p: str(request.path_params[p]) for p in params}
                )
            except DomainError as exc:
                return domain_error_response(request, exc)
            return _open(request, view, actor_id, since)

        path, handler = PATH_PARAM.sub(lambda m: f"{{{m.group(1)}:str}}", view.path), keyed_actor
    # CSRF protection has nothing to check on these GETs; skipping it saves a send wrapper per message.
    return get(
        path,
        name=f"live:{view.name}",
        operation_id=f"live_{view.name}_events",
        summary=f"Changes of {view.kind} as server-sent events",
        description=stream_route.__doc__,
        tags=["live"],
        opt={"exclude_from_csrf": True},
        responses={
            503: ResponseSpec(
                ErrorBody, description="Too many streams open here or from you; see Retry-After"
            )
        },
    )(handler)


@get("/dev/live", tags=["development"])
async def live_status(request: AnyRequest) -> Response[dict[str, object]]:
    """Open SSE streams in this process (development and tests only)."""
    if get_services(request).settings.is_production:
        raise NotFoundException()
    live = live_from_app(request.app)
    listeners = {view.kind: live.hub.listeners_of(view.kind) for view in live.views}
    body: dict[str, object] = {
        "open_streams": live.open,
        "stream_slots": live.slots.taken,
        "process_open_streams": open_streams(),
        "encoded_messages": live.encoded_messages,
        "listeners": sum(listeners.values()),
        "listeners_by_kind": listeners,
        # Closed streams must leave no task behind (this request's own task is counted too).
        "tasks": len(asyncio.all_tasks()),
        # Established streams kept out of the collector's scans (web/heap.py; served workers only).
        "frozen_objects": gc.get_freeze_count(),
        "stream_freezes": heap.STREAMS.freezes,
        "stream_thaws": heap.STREAMS.thaws,
        "gc_young_threshold": gc.get_threshold()[0],
    }
    return Response(body, media_type=MediaType.JSON, headers={"Cache-Control": "no-store"})


def route_handlers() -> list[HTTPRouteHandler]:
    """A stream route per declared live view (importing `web.functions` declares them), and /dev/live."""
    import web.functions  # noqa: F401  (declaring is a side effect of importing)

    return [*(stream_route(view) for view in LIVE_VIEWS), live_status]
