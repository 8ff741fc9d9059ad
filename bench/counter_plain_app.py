"""The plain alternative to Remote Stack's counter POST, as a user would write it without the starter.

A bare Litestar app under the same granian settings: `POST /counter/{id}` sends the counter actor's
own increment script to Redis with redis-py (EVALSHA, no coalescing) and returns an f-string
fragment. No session, no CSRF, no template, no middleware. `make bench` serves it next to the real
app and measures both, so the table shows what Remote Stack's request path costs against this.
`GET /page` answers the bytes of the file PLAIN_PAGE_FILE names (the real app's `/` as `make bench`
fetched it at start): a page served with no rendering at all, the ceiling for `GET /`.

Serve: `PLAIN_REDIS_URL=unix:///path/redis.sock python -m granian --interface asgi \
  bench.counter_plain_app:app`.
"""

from __future__ import annotations

import json
import os
import uuid
from html import escape
from pathlib import Path

from litestar import Litestar, MediaType, get, post
from redis.asyncio import Redis

from actors.counter import CounterActor
from actors.keys import actor_channel, actor_key
from actors.runtime import AUTO_REQUEST_TTL_MS
from actors.scripts import Script


def _increment_script() -> Script:
    script = CounterActor._increment.script
    if script is None:
        raise RuntimeError("CounterActor.increment has no script")
    return script


SCRIPT = _increment_script()
redis: Redis = Redis.from_url(os.environ.get("PLAIN_REDIS_URL", "redis://127.0.0.1:6379/0"))
PAGE = Path(os.environ["PLAIN_PAGE_FILE"]).read_bytes() if os.environ.get("PLAIN_PAGE_FILE") else b""


def use_redis(client: Redis) -> None:
    """Send the increments through `client` (`bench.counter_inprocess` passes the app's own)."""
    global redis
    redis = client


def serve_page(body: bytes) -> None:
    """What `GET /page` answers from now on (`bench.counter_inprocess` sets it without a file)."""
    global PAGE
    PAGE = body


async def load_script() -> None:
    await redis.script_load(SCRIPT.source)


@get("/ping", media_type=MediaType.TEXT)
async def ping() -> str:
    return "pong"


@get("/page", media_type=MediaType.HTML)
async def page() -> bytes:
    return PAGE


@post("/counter/{counter_id:str}", media_type=MediaType.HTML, status_code=200)
async def increment(counter_id: str) -> str:
    key = actor_key("counter", counter_id)
    reply = await redis.evalsha(  # type: ignore[misc]
        SCRIPT.sha,
        2,
        key,
        f"{key}:rq:increment:{uuid.uuid4().hex}",
        "counter",
        counter_id,
        actor_channel("counter", counter_id),
        AUTO_REQUEST_TTL_MS,
        1,
    )
    state = json.loads(reply)
    return f'<div id="counter_value"><p>{escape(str(state["count"]))}</p></div>'


app = Litestar(route_handlers=[ping, page, increment], on_startup=[load_script], debug=False)
