"""The HTTP rows against PostgreSQL and an external Redis: set BENCH_DATABASE_URL and BENCH_REDIS_URL.

BENCH_DATABASE_URL names a PostgreSQL server (postgresql://user@host:port/any): the bench creates a
database of its own there (rstack_bench_<random>) and drops it afterwards. BENCH_REDIS_URL is
the Redis the app and the plain app both use; give it a database number of the bench's own
(redis://127.0.0.1:6379/11, say): afterwards the bench deletes the keys that appeared in it during
the run, and nothing else (it never flushes). Without both variables the rows are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from bench.common import Row, app_server, progress, throwaway_database
from bench.counter_web_routes import measure_routes, route_rows, with_plain_app

SECTION = (5, "external")  # a section of `make bench` (bench/run.py)
WHERE = "PostgreSQL + external Redis"


def rows() -> list[Row]:
    database, redis_url = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_REDIS_URL")
    if not (database and redis_url):
        reason = "BENCH_DATABASE_URL and BENCH_REDIS_URL are not both set"
        print(f"  skipping the {WHERE} rows: {reason}", flush=True)
        return [Row(f"HTTP rows [{WHERE}]", "skipped", "-", None, "-", None, reason)]
    return run(database, redis_url)


def run(database: str, redis_url: str, rounds: int = 3, round_s: int = 3) -> list[Row]:
    progress(f"starting the app on {WHERE} (granian, 1 worker) and the plain app on the same Redis")
    # Created over the server's maintenance database: the URL's own database need not exist.
    admin_url = urlunsplit(urlsplit(database)._replace(path="/postgres"))
    with throwaway_database(admin_url, "rstack_bench") as database_url, new_keys_deleted(redis_url):
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "AUTH_ATTEMPTS_PER_MINUTE": "1000000",
        }
        with app_server(workers=1, env=env) as server, with_plain_app(server, redis_url) as plain:
            measured = measure_routes(server, plain, rounds, round_s)
    return route_rows(measured, where=WHERE, targets=False)


@contextmanager
def new_keys_deleted(redis_url: str) -> Iterator[None]:
    """Delete, afterwards, the keys of `redis_url`'s database that were not there before."""
    from redis import Redis

    client: Redis = Redis.from_url(redis_url)
    try:
        before = set(client.scan_iter(count=1000))
        yield
    finally:
        created = [key for key in client.scan_iter(count=1000) if key not in before]
        for start in range(0, len(created), 500):
            client.delete(*created[start : start + 500])
        progress(f"deleted the {len(created)} keys this run created in {redis_url}")
        client.close()
