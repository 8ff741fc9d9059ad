"""Arbitrary form and JSON bodies at remote endpoints: never a 500, never a call with invalid arguments."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from tests.web.remote_support import (
    BASE_URL,
    USER_HEADER,
    Calls,
    Mood,
    NoteForm,
    build_registry,
    csrf,
    make_app,
)
from web.remote.params import INT_MAX, INT_MIN, MAX_JSON_DEPTH

FIELD_NAMES = ["title", "count", "mood", "urgent", "tags", "tags.x", "next", "_csrf_token", "admin", ""]
# Past every integer type the stores have, and past Python's 4,300-digit limit for int("...").
huge_ints = st.integers(min_value=INT_MAX + 1) | st.integers(max_value=INT_MIN - 1)
huge_digits = st.integers(19, 5000).map(lambda n: "9" * n)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | huge_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
form_bodies = st.lists(
    st.tuples(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), st.text(max_size=40) | huge_digits),
    max_size=8,
)
# Nested far past MAX_JSON_DEPTH, where decoding or converting would recurse out of the stack.
deep_json = st.integers(MAX_JSON_DEPTH - 2, 6000).flatmap(
    lambda n: st.sampled_from(
        [
            "[" * n + "]" * n,
            '{"title": ' + '{"a":' * n + "1" + "}" * n + "}",
            '{"tags": ' + "[" * n + "]" * n + "}",
        ]
    )
)
json_bodies = (
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), json_values, max_size=6)
    | json_values
)
titles = st.text(min_size=1, max_size=30)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=latin-1",
        "application/merge-patch+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "garbage/;;",
    ]
)
callers = st.sampled_from([{"HX-Request": "true"}, {"Accept": "application/json"}, {"Accept": "text/html"}])


def assert_valid_calls(calls: Calls) -> None:
    for name, args in calls.seen:
        if name == "add_note":
            title, count, tags = args["title"], args["count"], args["tags"]
            assert isinstance(title, str) and 1 <= len(title) <= 20
            assert type(count) is int and INT_MIN <= count <= INT_MAX
            assert tags is None or (isinstance(tags, list) and all(isinstance(t, str) for t in tags))
        elif name == "note_form":
            data = args["data"]
            assert isinstance(data, NoteForm)
            assert 1 <= len(data.title) <= 20 and 0 <= data.count <= 1000
            assert isinstance(data.mood, Mood) and type(data.urgent) is bool
        elif name == "get_note":
            assert isinstance(args["title"], str) and 1 <= len(args["title"]) <= 20
            assert type(args["count"]) is int and args["count"] >= 0
            assert isinstance(args["mood"], Mood)


def test_arbitrary_inputs_never_500_and_never_reach_functions_invalid(tmp_path: Path, redis_url: str) -> None:
    calls = Calls()
    app = make_app(build_registry(calls), tmp_path, redis_url)
    with TestClient(app=app, base_url=BASE_URL) as client:
        token = csrf(client)
        auth = {USER_HEADER: "1", "x-csrftoken": token}

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            path=st.sampled_from(["/notes/{title}", "/_remote/note_form"]),
            title=titles,
            caller=callers,
            as_json=st.booleans(),
            form_body=form_bodies,
            json_body=json_bodies,
        )
        def post_anything(
            path: str,
            title: str,
            caller: dict[str, str],
            as_json: bool,
            form_body: list[tuple[str, str]],
            json_body: object,
        ) -> None:
            url = path.replace("{title}", quote(title, safe=""))
            headers = {**caller, **auth}
            if as_json:
                response = client.post(url, json=json_body, headers=headers, follow_redirects=False)
            else:
                response = client.post(url, data=form_body, headers=headers, follow_redirects=False)  # type: ignore[arg-type]
            assert response.status_code < 500, response.text
            assert_valid_calls(calls)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            query=st.lists(
                st.tuples(
                    st.sampled_from(FIELD_NAMES) | st.text(max_size=8), st.text(max_size=30) | huge_digits
                )
            ),
            caller=callers,
        )
        def get_anything(
            query: list[tuple[str, str | int | float | bool | None]], caller: dict[str, str]
        ) -> None:
            response = client.get("/_remote/get_note", params=query, headers=caller)
            assert response.status_code < 500, response.text
            assert_valid_calls(calls)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            body=st.binary(max_size=200) | deep_json.map(str.encode),
            content_type=content_types,
            caller=callers,
        )
        def post_raw_bytes(body: bytes, content_type: str | None, caller: dict[str, str]) -> None:
            headers = {**caller, **auth, **({"content-type": content_type} if content_type else {})}
            for path in ("/_remote/note_form", "/notes/x"):
                response = client.post(path, content=body, headers=headers, follow_redirects=False)
                assert response.status_code < 500, response.text
            assert_valid_calls(calls)

        post_anything()
        get_anything()
        post_raw_bytes()
    assert calls.seen, "some generated inputs should have been valid"
