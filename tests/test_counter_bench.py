"""The benchmark helpers stay runnable: `make bench` is not part of the suite, so these guard its parts.

`bench.counter_inprocess` drives the real app (sign-up, mailed link, sign-in, then every measured route,
each checked for a 200); `bench.counter_plain_app` is the plain alternative `make bench` compares against.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from types import ModuleType

import pytest
from litestar.testing import TestClient

from bench.common import run_on_app_loop


def test_inprocess_benchmark_measures_every_route_for_a_signed_in_user() -> None:
    from bench.counter_inprocess import _measure

    figures = run_on_app_loop(_measure(requests=100, rounds=1, profile=None))
    assert set(figures) == {"ping", "post", "home"}
    assert all(us > 0 for us in figures.values())


@pytest.fixture
def plain_app(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("PLAIN_REDIS_URL", redis_url)
    sys.modules.pop("bench.counter_plain_app", None)
    module = importlib.import_module("bench.counter_plain_app")
    yield module
    sys.modules.pop("bench.counter_plain_app", None)


def test_plain_app_increments_the_counter_actors_state(plain_app: ModuleType, redis_url: str) -> None:
    counter_id = f"plain-{uuid.uuid4().hex[:8]}"
    with TestClient(plain_app.app) as client:
        assert client.get("/ping").text == "pong"
        first = client.post(f"/counter/{counter_id}")
        second = client.post(f"/counter/{counter_id}")
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert ">1</p>" in first.text and ">2</p>" in second.text

    # The same state the real CounterActor reads: the plain app runs the actor's own script.
    assert run_on_app_loop(_count_via_actor(redis_url, counter_id)) == 2


async def _count_via_actor(redis_url: str, counter_id: str) -> int:
    from actors.connection import create_redis
    from actors.counter import CounterActor

    client = create_redis(redis_url)
    try:
        return (await CounterActor(client).get(counter_id)).count
    finally:
        await client.aclose()
