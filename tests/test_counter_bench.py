"""The benchmark helpers stay runnable: `make bench` is not part of the suite, so these guard its parts.

`bench.counter_inprocess` drives the real app (sign-up, mailed link, sign-in, then every measured route,
each checked for a 200); `bench.counter_sse_inprocess` fans changes out to in-process streams of the app
and of the bare writer; `bench.counter_plain_app` is the plain alternative `make bench` compares against.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from litestar.testing import TestClient

from bench.common import run_on_app_loop


def test_inprocess_benchmark_measures_every_route_and_the_bare_apps() -> None:
    from bench.counter_inprocess import _measure

    figures = run_on_app_loop(_measure(requests=100, rounds=1, profile=None))
    assert set(figures) == {"ping", "post", "home", "visitor", "plain-post", "plain-ping", "plain-page"}
    assert all(wall > 0 and cpu > 0 for wall, cpu in figures.values())


def test_inprocess_rows_hold_the_post_to_its_target_and_compare_with_the_bare_app() -> None:
    from bench.counter_inprocess import POST_TARGET_US, rows

    post, home, visitor, post_vs_bare, ping_vs_bare, page_vs_bare = rows(requests=100, rounds=1)
    assert post.target == f"<= {POST_TARGET_US} CPU µs" and isinstance(post.ok, bool)
    assert post.ratio is not None and post.ratio > 1  # a POST costs more than /ping
    assert home.ok is None and visitor.ok is None and "CPU µs" in visitor.measured
    for row in (post_vs_bare, ping_vs_bare, page_vs_bare):
        assert row.ok is None and row.baseline.startswith("bare ") and row.ratio is not None
        assert 0 < row.ratio < 1  # the app's route does more than the bare one


def test_inprocess_sse_benchmark_times_the_app_and_the_bare_writer_fanning_out() -> None:
    from bench.counter_sse_inprocess import measure

    figures = run_on_app_loop(measure(streams=40, changes=2))
    assert set(figures) == {"app", "bare"}
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


def test_plain_app_serves_the_page_file_as_html(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = tmp_path / "home.html"
    page.write_bytes(b"<!doctype html><title>pre-rendered</title>\n")
    monkeypatch.setenv("PLAIN_PAGE_FILE", str(page))
    monkeypatch.setenv("PLAIN_REDIS_URL", redis_url)
    sys.modules.pop("bench.counter_plain_app", None)
    try:
        with TestClient(importlib.import_module("bench.counter_plain_app").app) as client:
            response = client.get("/page")
    finally:
        sys.modules.pop("bench.counter_plain_app", None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == page.read_bytes()


def test_external_rows_say_why_they_are_skipped_without_both_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import counter_external

    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    (row,) = counter_external.rows()
    assert row.measured == "skipped" and "BENCH_DATABASE_URL" in row.note
    assert "skipping" in capsys.readouterr().out


def test_external_run_deletes_only_the_keys_it_created(redis_url: str) -> None:
    from redis import Redis

    from bench.counter_external import new_keys_deleted

    client: Redis = Redis.from_url(redis_url)
    kept = f"kept-{uuid.uuid4().hex}"
    client.set(kept, "1")
    made = f"made-{uuid.uuid4().hex}"
    try:
        with new_keys_deleted(redis_url):
            client.set(made, "1")
        assert client.exists(kept) == 1 and client.exists(made) == 0
    finally:
        client.delete(kept, made)
        client.close()
