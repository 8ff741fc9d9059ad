"""Stream caps on the served app (granian as `serve` runs it): 503 + Retry-After past a cap, others unhurt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli import SPARE_FILES, raise_open_files, worker_backpressure
from settings import Settings, SettingsError
from tests.support.demo import needs_counter_demo
from tests.support.server import RunningApp, running_app, wait_until
from tests.support.signin import csrf_of, signed_in
from tests.support.streams import RawStream, open_stream

# The counter demo declares the live view these streams use.
pytestmark = [pytest.mark.slow, needs_counter_demo]

PER_WORKER = 6
PER_CLIENT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    env = {"MAX_STREAMS_PER_WORKER": str(PER_WORKER), "MAX_STREAMS_PER_CLIENT": str(PER_CLIENT)}
    with running_app(tmp_path_factory.mktemp("live-limits"), env=env) as app:
        yield app


@pytest.fixture
def streams(server: RunningApp) -> Iterator[list[RawStream]]:
    """Streams a test opens; reset afterwards, and every slot back before the next test."""
    opened: list[RawStream] = []
    yield opened
    for stream in opened:
        stream.reset()
    wait_until(lambda: server.get("/dev/live").json()["stream_slots"] == 0, 10, "every stream slot free")


def stream_from(server: RunningApp, opened: list[RawStream], source: str, cookie: str | None = None) -> int:
    stream = open_stream(server, "/counter/limits/events", source=source, cookie=cookie)
    opened.append(stream)
    if stream.status == 503:
        assert int(stream.headers["retry-after"]) > 0
    return stream.status


def test_stream_past_the_per_client_cap_is_503_while_another_client_gets_one(
    server: RunningApp, streams: list[RawStream]
) -> None:
    assert [stream_from(server, streams, "127.0.0.2") for _ in range(PER_CLIENT)] == [200] * PER_CLIENT
    assert stream_from(server, streams, "127.0.0.2") == 503
    assert stream_from(server, streams, "127.0.0.3") == 200


def test_stream_past_the_per_session_cap_is_503_from_any_address(
    server: RunningApp, streams: list[RawStream]
) -> None:
    client = signed_in(server.base_url, server.data_dir, "streams@example.com")
    cookie = f"session={client.cookies['session']}"
    client.close()
    sources = [f"127.0.1.{n}" for n in range(1, PER_CLIENT + 2)]
    statuses = [stream_from(server, streams, source, cookie) for source in sources]
    assert statuses == [200] * PER_CLIENT + [503]


def test_with_every_stream_slot_taken_pages_commands_and_health_still_answer(
    server: RunningApp, streams: list[RawStream]
) -> None:
    client = signed_in(server.base_url, server.data_dir, "busy@example.com")
    token = csrf_of(client)
    taken = [stream_from(server, streams, f"127.0.2.{n // PER_CLIENT + 1}") for n in range(PER_WORKER)]
    assert taken == [200] * PER_WORKER
    # Past the worker's cap, from fresh addresses each time: refused at once, holding no slot.
    assert [stream_from(server, streams, f"127.0.3.{n}") for n in range(1, 41)] == [503] * 40
    assert server.get("/dev/live").json()["stream_slots"] == PER_WORKER
    # A second's patience is enough for everything else.
    assert client.get("/", timeout=1).status_code == 200
    assert client.get("/healthz", timeout=1).status_code == 200
    headers = {"Accept": "application/json", "x-csrftoken": token}
    answer = client.post("/_remote/update_user_profile", data={"name": "Busy"}, headers=headers, timeout=1)
    assert answer.status_code == 200 and answer.json()["name"] == "Busy"
    client.close()
    assert httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200


def test_reset_streams_give_their_slots_back(server: RunningApp, streams: list[RawStream]) -> None:
    for _ in range(3):
        batch = [
            open_stream(server, "/counter/limits/events", source=f"127.0.4.{n}") for n in range(PER_WORKER)
        ]
        assert [stream.status for stream in batch] == [200] * PER_WORKER
        for stream in batch:
            stream.reset()
        wait_until(lambda: server.get("/dev/live").json()["stream_slots"] == 0, 10, "slots back after resets")


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "9" * 4301])
def test_stream_caps_refuse_anything_but_a_positive_count(value: str, tmp_path: Path) -> None:
    for name in ("MAX_STREAMS_PER_WORKER", "MAX_STREAMS_PER_CLIENT"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value, "DATA_DIR": str(tmp_path)}, env_file=None)


def test_serve_raises_the_open_file_limit_to_hold_every_request_slot(tmp_path: Path) -> None:
    """A soft limit of 1,024 descriptors would refuse connections long before 10,000 streams."""
    import resource

    settings = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    assert worker_backpressure(settings) > 10_000  # the default stream cap, plus room for the rest
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, saved[1]))
        limit = raise_open_files(2, settings)
        wanted = 2 * (worker_backpressure(settings) + SPARE_FILES)
        expected = wanted if saved[1] == resource.RLIM_INFINITY else min(wanted, saved[1])
        assert limit == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)
