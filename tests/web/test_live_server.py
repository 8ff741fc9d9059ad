"""SSE against the real server (granian, one worker): 200 streams of one live view, reconnects, shutdown."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from actors.connection import create_redis
from actors.keys import actor_channel
from actors.preferences import PreferencesActor, Theme
from tests.support.server import RunningApp, running_app, start_app, stop_app, wait_until
from tests.support.signin import signed_in, user_id_of
from tests.support.streams import open_stream
from web.heap import FREEZE_EVERY

pytestmark = [pytest.mark.slow]

CLIENTS = 200
CHANGES = 20
EVENTS = "/account/preferences/events"
THEMES: tuple[Theme, ...] = ("dark", "light", "system")
# Every client here is 127.0.0.1 and each test's streams share a session: the caps must let all in.
ENV = {"MAX_STREAMS_PER_CLIENT": "1000", "AUTH_ATTEMPTS_PER_MINUTE": "1000"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("live-server"), env=ENV) as app:
        yield app


@dataclass(frozen=True)
class User:
    """A signed-up, signed-in user of the served app: the session to stream with, and the actor id."""

    id: str
    headers: dict[str, str]


def new_user(app: RunningApp, email: str) -> User:
    client = signed_in(app.base_url, app.data_dir, email)
    try:
        return User(user_id_of(client), {"Cookie": f"session={client.cookies['session']}"})
    finally:
        client.close()


@asynccontextmanager
async def preferences_actor(data_dir: Path) -> AsyncIterator[PreferencesActor]:
    """The served app's preferences, through its embedded Redis: changes made outside the server."""
    redis = create_redis(f"unix://{data_dir / 'redis' / 'redis.sock'}")
    try:
        yield PreferencesActor(redis)
    finally:
        await redis.aclose()


async def change(actor: PreferencesActor, user: User, times: int = 1) -> None:
    """`times` saves of the user's theme, each one a new version."""
    for n in range(times):
        await actor.update(user.id, theme=THEMES[n % len(THEMES)])


@dataclass
class Client:
    ids: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    ended: bool = False


async def listen(http: httpx.AsyncClient, path: str, client: Client, headers: dict[str, str]) -> None:
    async with http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            client.lines.append(line)
            if line.startswith("id: "):
                client.ids.append(int(line[4:]))
    client.ended = True


async def until(condition: object, timeout: float, what: str) -> None:
    """Poll `condition()` until true; no sleeps stand in for synchronisation."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def live_status(app: RunningApp) -> dict[str, int]:
    body: dict[str, int] = app.get("/dev/live").json()
    return body


def http_client(app: RunningApp) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CLIENTS + 20, max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=app.base_url, limits=limits, timeout=httpx.Timeout(10, read=None))


@asynccontextmanager
async def new_user_streams(http: httpx.AsyncClient, user: User) -> AsyncIterator[list[Client]]:
    """CLIENTS streams of a new user's live view, each past its first state (version 0); closed afterwards."""
    clients = [Client() for _ in range(CLIENTS)]
    tasks = [asyncio.create_task(listen(http, EVENTS, c, user.headers)) for c in clients]
    try:
        await until(lambda: all(c.ids == [0] for c in clients), 30, "every stream's first state")
        yield clients
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_every_stream_receives_every_change_in_order_then_closes(server: RunningApp) -> None:
    user = new_user(server, "fanout@example.com")
    before = live_status(server)
    tasks_before = before["tasks"]
    async with (
        http_client(server) as http,
        preferences_actor(server.data_dir) as actor,
        new_user_streams(http, user) as clients,
    ):
        status = live_status(server)
        assert status["open_streams"] == CLIENTS and status["listeners"] == CLIENTS
        # The served worker froze the streams out of the collector's scans as their number grew (from
        # wherever earlier tests left its last level, under FREEZE_EVERY).
        assert status["stream_freezes"] >= before["stream_freezes"] + (CLIENTS - FREEZE_EVERY) // FREEZE_EVERY
        assert status["frozen_objects"] > 0
        # ... all fed by a single Redis subscription in the server process.
        [(_, subscribers)] = await actor.redis.pubsub_numsub(actor_channel("preferences", user.id))
        assert subscribers == 1
        await change(actor, user, CHANGES)
        await until(lambda: all(c.ids[-1:] == [CHANGES] for c in clients), 30, "every change everywhere")
        for c in clients:
            assert c.ids == list(range(CHANGES + 1))

    def all_closed() -> bool:
        status = live_status(server)
        return (
            status["open_streams"] == 0 and status["listeners"] == 0 and status["tasks"] <= tasks_before + 1
        )  # + the hub's reader

    await until(all_closed, 10, "the server to drop every closed stream")
    # Once half of them had ended, one collection looked at what they left.
    assert live_status(server)["stream_thaws"] > before["stream_thaws"]


async def test_one_change_reaches_every_stream_encoded_once_and_without_a_task_per_stream(
    server: RunningApp,
) -> None:
    user = new_user(server, "encode-once@example.com")
    tasks_before = live_status(server)["tasks"]
    async with (
        http_client(server) as http,
        preferences_actor(server.data_dir) as actor,
        new_user_streams(http, user) as clients,
    ):
        status = live_status(server)
        assert status["open_streams"] == CLIENTS
        # Streams are written straight to the server's send: none holds a task (or task group) of
        # its own besides the one granian runs each request in; the hub's reader and subscriber may
        # have started. Work still finishing as the last streams open (batches of their first state
        # reads, the sign-up's mail) holds tasks for a moment: those end, a task per stream would not.
        await until(
            lambda: live_status(server)["tasks"] <= tasks_before + CLIENTS + 2,
            10,
            "one task per open stream, the server's own",
        )
        encoded_before = live_status(server)["encoded_messages"]
        await change(actor, user)
        await until(lambda: all(c.ids == [0, 1] for c in clients), 30, "the change on every stream")
        # The change was rendered and encoded once, and its bytes went to all 200 streams.
        assert live_status(server)["encoded_messages"] == encoded_before + 1


def test_streams_dropped_by_tcp_reset_leave_no_listener_behind(server: RunningApp) -> None:
    def idle() -> bool:
        status = live_status(server)
        return status["listeners"] == 0 and status["open_streams"] == 0

    # Several users' views: the resets drop listeners of different actors' subscriptions.
    cookies = [new_user(server, f"reset-{n}@example.com").headers["Cookie"] for n in range(4)]
    wait_until(idle, 10, "streams of earlier tests closed")
    for round_ in range(3):
        streams = [open_stream(server, EVENTS, cookie=cookies[n % len(cookies)]) for n in range(60)]
        assert all(stream.status == 200 for stream in streams)
        wait_until(lambda: live_status(server)["listeners"] == 60, 10, f"round {round_}: 60 listeners")
        for stream in streams:
            stream.reset()
        wait_until(idle, 10, f"round {round_}: no listener left after the resets")


async def test_reconnect_with_last_event_id_gets_the_current_state_at_once(server: RunningApp) -> None:
    user = new_user(server, "reconnect@example.com")
    async with http_client(server) as http, preferences_actor(server.data_dir) as actor:
        await change(actor, user, 3)
        behind, current = Client(), Client()
        tasks = [
            asyncio.create_task(listen(http, EVENTS, behind, {**user.headers, "Last-Event-ID": "1"})),
            asyncio.create_task(listen(http, EVENTS, current, {**user.headers, "Last-Event-ID": "3"})),
        ]
        await until(lambda: behind.ids == [3], 5, "the missed state")
        await until(lambda: live_status(server)["open_streams"] >= 2, 5, "both streams open")
        assert current.ids == []  # already up to date: nothing to send
        await change(actor, user)
        await until(lambda: behind.ids == [3, 4] and current.ids == [4], 5, "the next change on both")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_page_version_in_the_url_counts_for_the_first_connection(server: RunningApp) -> None:
    user = new_user(server, "since@example.com")
    async with http_client(server) as http, preferences_actor(server.data_dir) as actor:
        await change(actor, user, 2)
        fresh, stale = Client(), Client()
        tasks = [
            asyncio.create_task(listen(http, f"{EVENTS}?since=2", fresh, user.headers)),
            asyncio.create_task(listen(http, f"{EVENTS}?since=1", stale, user.headers)),
        ]
        await until(lambda: stale.ids == [2], 5, "the state the stale page missed")
        await change(actor, user)
        await until(lambda: fresh.ids == [3] and stale.ids == [2, 3], 5, "the next change")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_shutdown_ends_open_streams_with_a_retry_hint(tmp_path: Path, loop: str) -> None:
    """Each loop hands the server's SIGTERM handler to on_shutdown_signal differently (web/live.py)."""
    app = start_app(tmp_path / "data", env={**ENV, "EVENT_LOOP": loop})
    try:
        user = new_user(app, "bye@example.com")
        clients = [Client() for _ in range(5)]
        async with http_client(app) as http:
            tasks = [asyncio.create_task(listen(http, EVENTS, c, user.headers)) for c in clients]
            await until(lambda: all(c.ids == [0] for c in clients), 10, "streams open")
            started = time.monotonic()
            app.process.send_signal(signal.SIGTERM)
            await until(lambda: all(c.ended for c in clients), 10, "streams ended by the server")
            await asyncio.gather(*tasks)
        for c in clients:
            assert c.lines[-3:-1] == [": server restarting", "retry: 1000"]
        assert await asyncio.to_thread(app.process.wait, 10) == 0
        assert time.monotonic() - started < 10
    finally:
        stop_app(app)
