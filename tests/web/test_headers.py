"""Headers read once per request, and form posts parsed without Litestar's multidict: what Litestar gives."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.testing import TestClient

from settings import Settings
from tests.web.remote_support import Calls, build_registry
from web import edge
from web.auth.csrf import install_for_safe_request
from web.headers import SCOPE_KEY, first_headers, header
from web.remote import RemoteFunction
from web.security import lower_host

HEADER_NAMES = st.sampled_from(["Accept", "accept", "HX-Request", "hx-request", "User-Agent", "X-Other"])
HEADER_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)


def _scope(headers: list[tuple[bytes, bytes]]) -> Any:
    return {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": headers,
        "state": {},
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8))
def test_each_name_reads_as_litestars_headers_get(pairs: list[tuple[str, str]]) -> None:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    litestar = Request[Any, Any, Any](_scope(raw)).headers
    scope = _scope(raw)
    for name, _ in pairs:
        assert header(scope, name.lower().encode()) == litestar.get(name, "")
    assert header(scope, b"absent", "fallback") == "fallback"


def test_the_edge_reads_them_once_for_the_whole_request(tmp_path: Any) -> None:
    """The app's middleware fills the scope's table; handlers read the first of repeated headers."""
    seen: dict[str, object] = {}

    @get("/_probe")
    async def probe(request: Request[Any, Any, Any]) -> str:
        seen["table"] = request.scope.get(SCOPE_KEY)  # type: ignore[call-overload]
        seen["accept"] = header(request.scope, b"accept")
        return "ok"

    settings_ = Settings(app_env="development", data_dir=tmp_path).finalized()
    csrf = CSRFConfig(secret=settings_.auth_secret)
    app = Litestar([probe], middleware=[edge.middleware(settings_, csrf)])
    with TestClient(app) as client:
        response = client.get("/_probe", headers={"ACCEPT": "text/html"})
    assert response.status_code == 200
    assert seen["accept"] == "text/html"
    assert isinstance(seen["table"], dict) and seen["table"][b"accept"] == b"text/html"
    assert first_headers(_scope([(b"Accept", b"x"), (b"accept", b"y")])) == {b"accept": b"x"}


FORM = "application/x-www-form-urlencoded"
FORM_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x17F), max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "next", "_idempotency_key", "a.b"]), FORM_TEXT), max_size=6
    ),
    st.booleans(),
)
def test_a_form_post_reads_as_litestars_form(pairs: list[tuple[str, str]], raw_bytes: bool) -> None:
    """Percent-escapes, `+`, blank values, repeated keys and raw non-ASCII bytes: the same values."""
    from urllib.parse import urlencode

    body = urlencode(pairs).encode() if not raw_bytes else "&".join(f"{k}={v}" for k, v in pairs).encode()
    rf = _a_command()
    route = rf.route_handler()

    async def read() -> tuple[object, dict[str, list[str]]]:
        fast = await rf._read_raw(_request(body, FORM + "; charset=UTF-8", route))
        form = await _request(body, FORM, route).form()
        values: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            values.setdefault(key, []).append(value)
        return fast, values

    fast, values = asyncio.run(read())
    assert fast.values == values  # type: ignore[attr-defined]
    assert fast.next == (values["next"][-1] if "next" in values else None)  # type: ignore[attr-defined]


def _request(body: bytes, content_type: str, route: object) -> Request[Any, Any, Any]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = _scope([(b"content-type", content_type.encode())])
    scope["route_handler"] = route
    return Request[Any, Any, Any](scope, receive)  # type: ignore[arg-type]


def _a_command() -> RemoteFunction[..., Any]:
    registry = build_registry(Calls())
    return next(rf for rf in registry if rf.kind != "query")


def test_code_that_rewrites_the_headers_is_read_afresh() -> None:
    """Lower-casing the Host and installing a session's CSRF cookie change what later reads see."""
    scope = _scope([(b"host", b"App.Example"), (b"cookie", b"csrftoken=old; other=1")])
    assert header(scope, b"host") == "App.Example"
    lower_host(scope)
    assert header(scope, b"host") == "app.example"

    config = CSRFConfig(secret="s" * 32)
    install_for_safe_request(scope, config, "fresh")
    assert header(scope, b"cookie") == "other=1; csrftoken=fresh"
