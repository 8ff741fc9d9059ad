"""Parsing remote function arguments: each supported type, wrong types, missing, oversize, unknown fields."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import pytest
from litestar.testing import TestClient

from tests.web.remote_support import make_app
from web.remote import Context, InvalidInput, Registry, command, form, query
from web.remote.params import (
    INT_MAX,
    INT_MIN,
    INT_RANGE_MESSAGE,
    MAX_JSON_DEPTH,
    Field,
    decode_json,
    function_fields,
    humanize,
    parse_json,
    parse_lax,
)

Short = Annotated[str, msgspec.Meta(max_length=5)]


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Level(enum.IntEnum):
    low = 1
    high = 2


class Point(msgspec.Struct):
    x: int
    y: int = 0


@dataclasses.dataclass
class Box:
    label: Short
    size: float = 1.0


async def sample(
    ctx: Context,
    name: Short,
    age: int = 0,
    ratio: float = 1.0,
    active: bool = False,
    color: Color = Color.red,
    level: Level = Level.low,
    kind: Literal["a", "b"] = "a",
    tags: list[str] | None = None,
    scores: list[int] | None = None,
    nickname: str | None = None,
    limit: int | None = None,
    point: Point | None = None,
    box: Box | None = None,
) -> None:
    return None


FIELDS, _ = function_fields(sample)


def lax(**values: str | list[str]) -> dict[str, object]:
    return parse_lax(FIELDS, {k: v if isinstance(v, list) else [v] for k, v in values.items()})


def lax_errors(**values: str | list[str]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        lax(**values)
    return info.value.errors


def json_errors(body: object) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        parse_json(FIELDS, body)
    return info.value.errors


def test_function_fields_skip_context_and_keep_defaults() -> None:
    assert FIELDS[0] == Field("name", Short)
    assert FIELDS[0].required
    assert not FIELDS[1].required
    assert FIELDS[1].default == 0


def test_lax_str_int_float() -> None:
    assert lax(name="ann", age="41", ratio="2.5") == {"name": "ann", "age": 41, "ratio": 2.5}


def test_lax_defaults_are_left_to_the_function() -> None:
    assert lax(name="ann") == {"name": "ann"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("on", True),
        ("off", False),
        ("1", True),
        ("0", False),
        ("yes", True),
    ],
)
def test_lax_bool_words(raw: str, expected: bool) -> None:
    assert lax(name="a", active=raw)["active"] is expected


def test_lax_enums_and_literals() -> None:
    assert lax(name="a", color="blue", level="2", kind="b") == {
        "name": "a",
        "color": Color.blue,
        "level": Level.high,
        "kind": "b",
    }


def test_lax_lists_from_repeated_fields() -> None:
    assert lax(name="a", tags=["x", "y"], scores=["1", "2"]) == {
        "name": "a",
        "tags": ["x", "y"],
        "scores": [1, 2],
    }


def test_lax_optional_empty_is_none() -> None:
    assert lax(name="a", nickname="", limit="") == {"name": "a", "nickname": None, "limit": None}


def test_lax_empty_non_text_field_is_an_error_not_the_default() -> None:
    assert lax_errors(name="a", age="") == {"age": "Must be a whole number"}


def test_lax_nested_struct_and_dataclass_from_dotted_fields() -> None:
    result = lax(name="a", **{"point.x": "3", "box.label": "big", "box.size": "2"})
    assert result["point"] == Point(x=3)
    assert result["box"] == Box(label="big", size=2.0)


def test_lax_unknown_fields_are_ignored() -> None:
    assert lax(name="a", whatever="1") == {"name": "a"}


def test_lax_missing_required_field() -> None:
    assert lax_errors(age="1") == {"name": "This field is required"}


def test_lax_wrong_types_name_every_bad_field() -> None:
    errors = lax_errors(name="a", age="old", ratio="x", active="maybe", color="green", scores=["1", "z"])
    assert errors == {
        "age": "Must be a whole number",
        "ratio": "Must be a number",
        "active": "Must be true or false",
        "color": "Must be one of: red, blue",
        "scores": "[1]: Must be a whole number",
    }


def test_lax_oversize_string() -> None:
    assert lax_errors(name="abcdef") == {"name": "Must be at most 5 characters"}


def test_lax_nested_errors_say_where() -> None:
    assert lax_errors(name="a", **{"box.label": "toolong"}) == {"box": "label: Must be at most 5 characters"}


def test_json_typed_values() -> None:
    body = {
        "name": "a",
        "age": 3,
        "active": True,
        "tags": ["t"],
        "point": {"x": 1, "y": 2},
        "box": {"label": "b"},
    }
    result = parse_json(FIELDS, body)
    assert result["point"] == Point(1, 2)
    assert result["box"] == Box("b")
    assert result["age"] == 3


def test_json_is_strict_about_types() -> None:
    assert json_errors({"name": "a", "age": "3", "active": "true"}) == {
        "age": "Must be a whole number",
        "active": "Must be true or false",
    }


def test_json_unknown_fields_rejected() -> None:
    assert json_errors({"name": "a", "admin": True}) == {"admin": "Unknown field"}


def test_json_unknown_nested_fields_rejected_only_for_forbidding_structs() -> None:
    errors = json_errors({"name": "a", "point": {"y": 1}})
    assert errors == {"point": "x: This field is required"}


def test_json_missing_and_oversize() -> None:
    assert json_errors({"age": 1}) == {"name": "This field is required"}
    assert json_errors({"name": "x" * 6}) == {"name": "Must be at most 5 characters"}


def test_json_body_must_be_an_object() -> None:
    assert json_errors([1, 2]) == {"body": "Must be a JSON object"}


def test_json_null_for_required_field() -> None:
    assert json_errors({"name": None}) == {"name": "Must be text"}


def test_ints_past_int64_are_refused_wherever_they_are() -> None:
    """A plain `int` holds what the stores hold: past it, the field is named (not a crash further in)."""
    assert lax(name="a", age=str(INT_MAX), limit=str(INT_MIN)) == {
        "name": "a",
        "age": INT_MAX,
        "limit": INT_MIN,
    }
    huge = str(INT_MAX + 1)
    assert lax_errors(name="a", age=huge) == {"age": INT_RANGE_MESSAGE}
    assert lax_errors(name="a", age="-" + "9" * 30) == {"age": INT_RANGE_MESSAGE}
    assert lax_errors(name="a", scores=["1", huge]) == {"scores": INT_RANGE_MESSAGE}
    assert lax_errors(name="a", **{"point.x": huge}) == {"point": INT_RANGE_MESSAGE}
    assert json_errors({"name": "a", "age": 10**30}) == {"age": INT_RANGE_MESSAGE}
    assert json_errors({"name": "a", "point": {"x": 1, "y": -(10**20)}}) == {"point": INT_RANGE_MESSAGE}


def test_decode_json_refuses_deep_nesting_and_huge_literals() -> None:
    def errors(body: bytes) -> dict[str, str]:
        with pytest.raises(InvalidInput) as caught:
            decode_json(body)
        return caught.value.errors

    deep = f"Must not be nested more than {MAX_JSON_DEPTH} levels deep"
    assert errors(b"[" * 5000 + b"]" * 5000) == {"body": deep}
    assert errors(b'{"a":' * 500 + b"1" + b"}" * 500) == {"body": deep}
    assert errors(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)) == {"body": deep}
    assert decode_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    # Brackets inside strings are text, not nesting.
    assert decode_json(b'{"a": "' + b"[" * 100 + b'"}') == {"a": "[" * 100}
    assert errors(b"1" * 4301) == {"body": INT_RANGE_MESSAGE}
    assert errors(b"{") == {"body": "Is not valid JSON"}


@pytest.mark.parametrize(
    ("message", "human"),
    [
        ("Expected `int` >= 1", "Must be at least 1"),
        ("Expected `str` of length >= 1", "Must not be empty"),
        ("Expected `array` of length <= 3 - at `$.tags`", "tags: Must have at most 3 items"),
        ("Object missing required field `x` - at `$.point`", "point: x: This field is required"),
        ("Expected `int | null`, got `str`", "Must be a whole number"),
    ],
)
def test_humanize(message: str, human: str) -> None:
    assert humanize(message) == human


def test_form_flavour_needs_one_record_parameter() -> None:
    async def two(ctx: Context, a: int, b: int) -> None:
        return None

    with pytest.raises(TypeError):
        form(registry=Registry(), public=True)(two)


def test_path_parameters_must_be_function_parameters() -> None:
    async def f(ctx: Context) -> None:
        return None

    with pytest.raises(TypeError):
        query(path="/x/{missing}", registry=Registry())(f)


def test_parameters_need_annotations() -> None:
    async def f(ctx: Context, a) -> None:  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(TypeError):
        command(registry=Registry(), public=True)(f)


def test_duplicate_names_rejected() -> None:
    registry = Registry()

    async def f(ctx: Context) -> None:
        return None

    async def g(ctx: Context) -> None:
        return None

    g.__name__ = "f"
    query(registry=registry)(f)
    with pytest.raises(ValueError):
        query(registry=registry)(g)


async def test_direct_call_runs_the_function_and_checks_sign_in() -> None:
    from domain.errors import NotSignedIn

    registry = Registry()

    @command(registry=registry, signed_in="Sign in first")
    async def double(ctx: Context, n: int) -> int:
        return n * 2

    from domain.auth.types import AuthUser

    assert await double(Context(user=AuthUser(id=1, email="a@b.c", name="A")), 4) == 8
    with pytest.raises(NotSignedIn, match="Sign in first"):
        await double(Context(), 4)
    assert double.url() == "/_remote/double"


def test_a_command_that_does_not_say_who_may_call_it_fails_at_declaration() -> None:
    async def change(ctx: Context) -> None:
        return None

    for declare in (command, form):
        with pytest.raises(TypeError, match="must say who may call it: public=True"):
            declare(registry=Registry())(change)


def test_public_and_a_sign_in_message_contradict() -> None:
    async def change(ctx: Context) -> None:
        return None

    with pytest.raises(TypeError, match="contradict"):
        command(registry=Registry(), public=True, signed_in="Sign in")(change)


async def test_a_query_is_signed_in_only_unless_it_says_public() -> None:
    from domain.auth.types import AuthUser
    from domain.errors import NotSignedIn

    registry = Registry()

    @query(registry=registry)
    async def mine(ctx: Context) -> int:
        return 1

    @query(registry=registry, public=True)
    async def anyones(ctx: Context) -> int:
        return 2

    assert (mine.public, anyones.public) == (False, True)
    with pytest.raises(NotSignedIn):
        await mine(Context())
    assert await mine(Context(user=AuthUser(id=1, email="a@b.c", name="A"))) == 1
    assert await anyones(Context()) == 2
    assert mine.route_handler().opt["public"] is False
    assert anyones.route_handler().opt["public"] is True


def test_an_alias_may_leave_out_path_parameters_that_have_defaults(tmp_path: Path) -> None:
    registry = Registry()

    @query(path="/things/{thing_id}", public=True, aliases=("/things",), registry=registry)
    async def get_thing(ctx: Context, thing_id: str = "first") -> dict[str, str]:
        return {"id": thing_id}

    with TestClient(app=make_app(registry, tmp_path)) as client:
        assert client.get("/things", headers={"accept": "application/json"}).json() == {"id": "first"}
        assert client.get("/things/other", headers={"accept": "application/json"}).json() == {"id": "other"}
    with pytest.raises(TypeError, match=r"alias '/others' must have the path parameters \['thing_id'\]"):

        @query(path="/others/{thing_id}", public=True, aliases=("/others",), registry=registry)
        async def get_other(ctx: Context, thing_id: str) -> dict[str, str]:
            return {"id": thing_id}
