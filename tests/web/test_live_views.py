"""Live views declared once: a second actor kind (per-user preferences) streams through the same mechanism."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from actors.runtime import discover
from tests.support.server import RunningApp, running_app
from tests.support.signin import csrf_of, signed_in
from web.live_views import LiveViews, live

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EVENTS = "/account/preferences/events"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("live-views")) as app:
        yield app


@pytest.fixture(scope="module")
def ada(server: RunningApp) -> Iterator[httpx.Client]:
    client = signed_in(server.base_url, server.data_dir, "ada-live@example.com", name="Ada")
    yield client
    client.close()


class Events:
    """An open SSE response, read one message (`id:` + `data:` lines) at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 5) -> tuple[int, str]:
        async def read() -> tuple[int, str]:
            ident, data = None, []
            async for line in self.lines:
                if line.startswith("id: "):
                    ident = int(line[4:])
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and ident is not None:
                    return ident, "\n".join(data)
            raise AssertionError("stream ended")

        return await asyncio.wait_for(read(), timeout)


@asynccontextmanager
async def events(
    server: RunningApp, client: httpx.Client, headers: dict[str, str] | None = None
) -> AsyncIterator[Events]:
    http = httpx.AsyncClient(base_url=server.base_url, cookies=client.cookies, timeout=10)
    async with http, http.stream("GET", EVENTS, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Events(response)


def save(client: httpx.Client, theme: str, timezone: str = "UTC", language: str = "en") -> httpx.Response:
    headers = {"Accept": "application/json", "x-csrftoken": csrf_of(client)}
    fields = {"theme": theme, "language": language, "timezone": timezone}
    return client.post("/_remote/update_preferences", data=fields, headers=headers)


def test_per_user_stream_is_for_signed_in_users_only(server: RunningApp) -> None:
    response = server.get(EVENTS, headers={"Accept": "application/json"})
    assert response.status_code == 401


async def test_per_user_stream_sends_the_users_state_then_each_change(
    server: RunningApp, ada: httpx.Client
) -> None:
    async with events(server, ada) as stream:
        version, data = await stream.next()
        assert 'id="preferences_state" hx-swap-oob="true"' in data
        status = server.get("/dev/live").json()
        assert status["listeners_by_kind"]["preferences"] == 1
        assert save(ada, "dark", "Asia/Tokyo").status_code == 200
        changed, data = await stream.next()
        assert changed == version + 1 and 'data-theme="dark"' in data and 'data-timezone="Asia/Tokyo"' in data


async def test_per_user_stream_never_carries_another_users_changes(
    server: RunningApp, ada: httpx.Client
) -> None:
    bob = signed_in(server.base_url, server.data_dir, "bob-live@example.com", name="Bob")
    try:
        async with events(server, ada) as stream:
            version, _ = await stream.next()
            assert save(bob, "light").status_code == 200
            assert save(ada, "system").status_code == 200
            changed, data = await stream.next()  # Ada's own change is the next thing her stream sends
            assert changed == version + 1 and 'data-theme="system"' in data
    finally:
        bob.close()


async def test_per_user_stream_resumes_after_last_event_id(server: RunningApp, ada: httpx.Client) -> None:
    async with events(server, ada) as stream:
        seen, _ = await stream.next()
    for theme in ("dark", "light"):  # missed while disconnected
        assert save(ada, theme).status_code == 200
    async with events(server, ada, headers={"Last-Event-ID": str(seen)}) as stream:
        resumed, data = await stream.next()
        assert resumed == seen + 2 and 'data-theme="light"' in data


def test_live_stream_code_names_no_actor_kind() -> None:
    source = (ROOT / "web" / "live.py").read_text().lower()
    named = [kind for kind in discover() if re.search(rf"\b{kind}\b", source)]
    assert named == []


def test_live_declarations_are_checked() -> None:
    views = LiveViews()
    with pytest.raises(ValueError, match="exactly when no key"):
        live("things", partial="partials/x.html", path="/things/events", registry=views)  # no {id}, no key
    with pytest.raises(ValueError, match="exactly when no key"):
        live("things", partial="partials/x.html", path="/things/{id}", key=lambda user: "1", registry=views)
    view = live("things", partial="partials/things_value.html", registry=views)
    assert view.url("a b", since=3) == "/live/things/a%20b/events?since=3"
    assert view.context_name == "things" and view.partial_id == "things_value"
    with pytest.raises(ValueError, match="declared twice"):
        live("things", partial="partials/other.html", registry=views)
