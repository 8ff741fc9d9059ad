"""A remote function's route builds no signature model per request, and sends what Litestar's Response would.

The reference app serves the same functions through a plain Litestar handler (`request: Request`
parameter, so Litestar resolves kwargs and parses its signature model) whose answer is rebuilt as
Litestar's own Template/Response; every representative call must answer the same status, headers
and body from both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import HttpMethod, Litestar, MediaType, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template
from litestar.testing import TestClient

from tests.web.auth_support import csrf_token as session_csrf_token
from tests.web.auth_support import fast_hashing, signed_in_user
from tests.web.remote_support import BASE_URL, USER_HEADER, Calls, build_registry, make_app
from web.private_apis import KwargsModel, SignatureModel
from web.remote import Registry, RemoteFunction, params
from web.remote.answer import Answer
from web.remote.params import INT_MAX

Client = TestClient[Litestar]
HTMX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SIGNED_IN = {USER_HEADER: "1"}


class Counts:
    """How often Litestar resolved a handler's kwargs and parsed them with its signature model."""

    def __init__(self) -> None:
        self.to_kwargs = 0
        self.parse_values = 0


@contextmanager
def counting() -> Iterator[Counts]:
    """Wrap the two per-request steps of Litestar's HTTP route in tallies that call the originals."""
    counts = Counts()
    to_kwargs = KwargsModel.to_kwargs
    parse_values = SignatureModel.parse_values_from_connection_kwargs.__func__  # type: ignore[attr-defined]

    async def counted_to_kwargs(self: KwargsModel, connection: Any) -> dict[str, Any]:
        counts.to_kwargs += 1
        return await to_kwargs(self, connection)

    def counted_parse_values(cls: type[SignatureModel], connection: Any, kwargs: dict[str, Any]) -> Any:
        counts.parse_values += 1
        return parse_values(cls, connection, kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(KwargsModel, "to_kwargs", counted_to_kwargs)
        patch.setattr(
            SignatureModel, "parse_values_from_connection_kwargs", classmethod(counted_parse_values)
        )
        yield counts


def classic(response: Response[Any]) -> Response[Any]:
    """An Answer as the Template or Response Litestar renders and encodes itself."""
    if not isinstance(response, Answer):
        return response
    if response.templates:
        ((name, extra),) = response.templates
        return Template(
            name,
            context={**response.context, **extra},
            status_code=response.status_code or 200,
            headers=dict(response.headers),
            media_type=MediaType.HTML,
            cookies=response.cookies,
        )
    if "location" in response.headers:
        headers = {k: v for k, v in response.headers.items() if k != "location"}
        return Redirect(
            response.headers["location"],
            status_code=303,
            headers=headers,
            media_type=response.media_type,
            cookies=response.cookies,
        )
    return Response(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        media_type=response.media_type,
        cookies=response.cookies,
    )


def classic_handler(rf: RemoteFunction[..., Any]) -> HTTPRouteHandler:
    async def endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
        return classic(await rf.handle(request))

    endpoint.__name__ = rf.name
    return HTTPRouteHandler(
        path=rf.litestar_path,
        http_method=HttpMethod.GET if rf.method == "GET" else HttpMethod.POST,
        name=rf.name,
        media_type=MediaType.JSON,
        status_code=200,
        request_max_body_size=rf.max_body,
        cache=False,
        opt={"public": rf.public},
    )(endpoint)


class ClassicRegistry(Registry):
    """The same functions, each behind Litestar's per-request machinery (the reference)."""

    def route_handlers(self) -> list[HTTPRouteHandler]:
        return [classic_handler(rf) for rf in self]


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    registry = build_registry(Calls())
    reference = ClassicRegistry()
    for rf in registry:
        reference.add(rf)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        TestClient(app=make_app(registry, tmp_path / "a"), base_url=BASE_URL) as compiled,
        TestClient(app=make_app(reference, tmp_path / "b"), base_url=BASE_URL) as classic_client,
    ):
        compiled.get("/page/button")
        classic_client.cookies.update(compiled.cookies)  # one browser: the same CSRF token for both
        yield compiled, classic_client


def _token(client: Client) -> str:
    token = client.cookies.get("csrftoken")
    assert token
    return token


# Parts that differ between any two requests: the request id, a flash cookie's signed expiry time.
VOLATILE = (
    (re.compile(r"^(flash=)[^;]*"), r"\1<signed>"),
    (re.compile(r'(name="_idempotency_key" value=")[0-9a-f]+'), r"\1<key>"),
)


def _normal(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _sent(client: Client, method: str, url: str, **kwargs: Any) -> tuple[int, list[tuple[str, str]], str]:
    response = client.request(method, url, follow_redirects=False, **kwargs)
    headers = [(k, _normal(v)) for k, v in response.headers.multi_items() if k != "x-request-id"]
    return response.status_code, headers, _normal(response.text)


CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    # (what, method, url, request arguments); POSTs get the CSRF header added.
    ("query, htmx", "GET", "/_remote/get_note?title=hi&count=3", {"headers": HTMX}),
    ("query, JSON", "GET", "/_remote/get_note?title=hi", {"headers": JSON}),
    ("query, browser page", "GET", "/_remote/get_note?title=hi&mood=sad", {"headers": BROWSER}),
    ("query, invalid, JSON", "GET", "/_remote/get_note?count=x", {"headers": JSON}),
    ("query, invalid, htmx", "GET", "/_remote/get_note?count=-1", {"headers": HTMX}),
    ("query, refused (409), JSON", "GET", "/_remote/get_note?title=taken", {"headers": JSON}),
    ("command, htmx", "POST", "/notes/hi", {"headers": {**HTMX, **SIGNED_IN}, "data": {"count": "2"}}),
    ("command, JSON", "POST", "/notes/hi", {"headers": {**JSON, **SIGNED_IN}, "json": {"tags": ["a"]}}),
    (
        "command, browser post/redirect/get",
        "POST",
        "/notes/hi",
        {"headers": {**BROWSER, **SIGNED_IN}, "data": {"next": "/somewhere?x=1"}},
    ),
    ("command, refused, htmx", "POST", "/notes/bad", {"headers": {**HTMX, **SIGNED_IN}}),
    ("command, bad JSON", "POST", "/notes/hi", {"headers": {**JSON, **SIGNED_IN}, "json": {"nope": 1}}),
    ("guarded, signed out, htmx", "POST", "/notes/hi", {"headers": HTMX}),
    ("guarded, signed out, JSON", "POST", "/notes/hi", {"headers": JSON, "json": {}}),
    ("guarded, signed out, browser", "POST", "/notes/hi", {"headers": BROWSER, "data": {"next": "/x"}}),
    ("guarded query, signed out, browser", "GET", "/_remote/get_secret", {"headers": BROWSER}),
    ("form, htmx", "POST", "/_remote/note_form", {"headers": HTMX, "data": {"title": "t", "urgent": "on"}}),
    ("form, invalid, htmx", "POST", "/_remote/note_form", {"headers": HTMX, "data": {"count": "2000"}}),
    ("form, invalid, JSON", "POST", "/_remote/note_form", {"headers": JSON, "json": {"title": ""}}),
    ("form, browser", "POST", "/_remote/note_form", {"headers": BROWSER, "data": {"title": "t"}}),
]


@pytest.mark.parametrize(("what", "method", "url", "arguments"), CALLS, ids=[c[0] for c in CALLS])
def test_compiled_route_sends_what_litestar_would(
    clients: tuple[Client, Client], what: str, method: str, url: str, arguments: dict[str, Any]
) -> None:
    compiled, reference = clients
    if method == "POST":
        arguments = {**arguments, "headers": {**arguments["headers"], "x-csrftoken": _token(compiled)}}
    with counting() as counts:
        ours = _sent(compiled, method, url, **arguments)
    assert (counts.to_kwargs, counts.parse_values) == (0, 0), what
    with counting() as counts:
        theirs = _sent(reference, method, url, **arguments)
    assert counts.parse_values == 1, "the tally sees Litestar's signature model"
    assert ours == theirs, what


def test_the_real_apps_signed_in_post_builds_no_signature_model(app: Litestar) -> None:
    """A signed-in htmx POST of a remote function through every middleware of the real app."""
    with TestClient(app=app, base_url=BASE_URL) as client:
        fast_hashing(client)
        signed_in_user(client, "compiled@example.com")
        headers = {**HTMX, "x-csrftoken": session_csrf_token(client)}
        with counting() as counts:
            response = client.post("/account/profile", data={"name": "Grace"}, headers=headers)
            home = client.get("/", headers=BROWSER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert int(response.headers["content-length"]) == len(response.content)
    assert "Grace" in response.text and "Profile saved." in response.text
    assert home.status_code == 200
    # The home page's handler takes the request: its one parse shows the counting is live.
    assert (counts.to_kwargs, counts.parse_values) == (1, 1)


JSON_NAMES = ["title", "count", "mood", "urgent", "tags", "nope"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=INT_MAX + 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "hi", "happy", "sad", "x" * 21])
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(JSON_NAMES), children),
    max_leaves=8,
)

# Mostly well-typed fields (so many bodies fit), else anything at all.
typed_objects = st.fixed_dictionaries(
    {},
    optional={
        "title": st.text(max_size=22),
        "count": st.integers(-5, 2000) | st.integers(min_value=INT_MAX - 1),
        "mood": st.sampled_from(["happy", "sad", "meh"]),
        "urgent": st.booleans(),
        "tags": st.lists(st.text(max_size=4), max_size=3),
    },
)
json_objects = st.one_of(
    typed_objects, typed_objects, st.dictionaries(st.sampled_from(JSON_NAMES), json_values, max_size=5)
)


def _per_field(rf: RemoteFunction[..., Any], body: bytes) -> dict[str, object] | None:
    try:
        return params.parse_json(rf.input_fields, params.decode_json(body))
    except params.InvalidInput:
        return None


def test_a_functions_json_decoder_takes_what_the_per_field_path_takes() -> None:
    """One-pass decoding gives the per-field path's arguments; what it refuses, so does that path."""
    functions = list(build_registry(Calls()))
    by_name = {rf.name: rf for rf in functions}
    valid = {
        "get_note": b'{"title": "hi", "count": 2, "mood": "sad"}',
        "add_note": b'{"count": 2, "tags": ["a"]}',
        "note_form": b'{"title": "t", "urgent": true}',
    }
    for name, body in valid.items():
        fast = by_name[name].json_inputs.decode(body)
        assert fast is not None and fast == _per_field(by_name[name], body), name

    @given(json_objects)
    @settings(max_examples=300, deadline=None)
    def check(body_object: dict[str, object]) -> None:
        body = msgspec.json.encode(body_object)
        for rf in functions:
            assert rf.json_inputs.decode(body) == _per_field(rf, body), (rf.name, body)

    check()
