"""Stream caps on the served app, on the users' own live views: 503 + Retry-After past a cap."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import RunningApp, running_app, wait_until
from tests.support.signin import csrf_of, signed_in, signed_in_again
from tests.support.streams import RawStream, open_stream

pytestmark = [pytest.mark.slow]

PER_WORKER = 6
PER_CLIENT = 3
EVENTS = "/account/preferences/events"
EMAIL = "streams@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    env = {
        "MAX_STREAMS_PER_WORKER": str(PER_WORKER),
        "MAX_STREAMS_PER_CLIENT": str(PER_CLIENT),
        "AUTH_ATTEMPTS_PER_MINUTE": "1000",
    }
    with running_app(tmp_path_factory.mktemp("live-limits"), env=env) as app:
        yield app


@pytest.fixture(scope="module")
def sessions(server: RunningApp) -> list[str]:
    """Cookie headers of four sessions of one user: a live view streams only to a signed-in user."""
    clients = [signed_in(server.base_url, server.data_dir, EMAIL)]
    clients += [signed_in_again(server.base_url, EMAIL) for _ in range(3)]
    cookies = [f"session={client.cookies['session']}" for client in clients]
    for client in clients:
        client.close()
    assert len(set(cookies)) == 4
    return cookies


@pytest.fixture
def streams(server: RunningApp) -> Iterator[list[RawStream]]:
    """Streams a test opens; reset afterwards, and every slot back before the next test."""
    opened: list[RawStream] = []
    yield opened
    for stream in opened:
        stream.reset()
    wait_until(lambda: server.get("/dev/live").json()["stream_slots"] == 0, 10, "every stream slot free")


def stream_from(server: RunningApp, opened: list[RawStream], source: str, cookie: str) -> int:
    stream = open_stream(server, EVENTS, source=source, cookie=cookie)
    opened.append(stream)
    if stream.status == 503:
        assert int(stream.headers["retry-after"]) > 0
    return stream.status


def test_a_signed_out_stream_is_refused_and_holds_no_slot(
    server: RunningApp, streams: list[RawStream]
) -> None:
    refused = open_stream(server, EVENTS, source="127.0.0.9")
    streams.append(refused)
    assert refused.status == 401
    assert server.get("/dev/live").json()["stream_slots"] == 0


def test_stream_past_the_per_client_cap_is_503_while_another_client_gets_one(
    server: RunningApp, sessions: list[str], streams: list[RawStream]
) -> None:
    # A session each: only the address is shared, so only the per-address cap can refuse.
    opened = [stream_from(server, streams, "127.0.0.2", sessions[n]) for n in range(PER_CLIENT)]
    assert opened == [200] * PER_CLIENT
    assert stream_from(server, streams, "127.0.0.2", sessions[PER_CLIENT]) == 503
    assert stream_from(server, streams, "127.0.0.3", sessions[PER_CLIENT]) == 200


def test_stream_past_the_per_session_cap_is_503_from_any_address(
    server: RunningApp, sessions: list[str], streams: list[RawStream]
) -> None:
    sources = [f"127.0.1.{n}" for n in range(1, PER_CLIENT + 2)]
    statuses = [stream_from(server, streams, source, sessions[0]) for source in sources]
    assert statuses == [200] * PER_CLIENT + [503]


def test_with_every_stream_slot_taken_pages_commands_and_health_still_answer(
    server: RunningApp, sessions: list[str], streams: list[RawStream]
) -> None:
    client = signed_in(server.base_url, server.data_dir, "busy@example.com")
    token = csrf_of(client)
    taken = [
        stream_from(server, streams, f"127.0.2.{n // PER_CLIENT + 1}", sessions[n // PER_CLIENT])
        for n in range(PER_WORKER)
    ]
    assert taken == [200] * PER_WORKER
    # Past the worker's cap, from fresh addresses each time and a session holding no stream:
    # refused at once, holding no slot.
    assert [stream_from(server, streams, f"127.0.3.{n}", sessions[2]) for n in range(1, 41)] == [503] * 40
    assert server.get("/dev/live").json()["stream_slots"] == PER_WORKER
    # A second's patience is enough for everything else.
    assert client.get("/", timeout=1).status_code == 200
    assert client.get("/healthz", timeout=1).status_code == 200
    headers = {"Accept": "application/json", "x-csrftoken": token}
    answer = client.post("/_remote/update_user_profile", data={"name": "Busy"}, headers=headers, timeout=1)
    assert answer.status_code == 200 and answer.json()["name"] == "Busy"
    client.close()
    assert httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200


def test_reset_streams_give_their_slots_back(server: RunningApp, sessions: list[str]) -> None:
    for _ in range(3):
        batch = [
            open_stream(server, EVENTS, source=f"127.0.4.{n}", cookie=sessions[n % 2])
            for n in range(PER_WORKER)
        ]
        assert [stream.status for stream in batch] == [200] * PER_WORKER
        for stream in batch:
            stream.reset()
        wait_until(lambda: server.get("/dev/live").json()["stream_slots"] == 0, 10, "slots back after resets")
