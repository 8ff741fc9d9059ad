"""Reading a remote function's typed arguments from path, query string, form fields or a JSON body."""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

MISSING: Any = inspect.Parameter.empty
# Fields a browser form carries for the framework, never for the function.
RESERVED_FORM_FIELDS = frozenset({"_csrf_token", "next", "_idempotency_key"})
# Never echoed back into a re-rendered form.
SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "token"})
BODY_KEY = "body"
# The widest integer every store holds (SQLite INTEGER, PostgreSQL bigint, Redis): the bound of a
# plain `int` parameter. A narrower column says so on its parameter (`Annotated[int, Meta(le=...)]`).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
INT_RANGE_MESSAGE = f"Must be a whole number from {INT_MIN} to {INT_MAX}"
# Far deeper than any form's record; past it a JSON body is refused before anything recurses on it.
MAX_JSON_DEPTH = 32


class InvalidInput(Exception):
    """The request's input does not fit the function; `errors` maps each bad field to a message."""

    def __init__(self, errors: dict[str, str], values: Mapping[str, str] | None = None) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.values: dict[str, str] = dict(values or {})


@dataclass(frozen=True, slots=True)
class Field:
    """One input field: its name, full annotation (with Annotated metadata) and default."""

    name: str
    annotation: Any
    default: Any = MISSING
    # What the annotation admits, worked out once: every request reads these of every field.
    record: bool = dataclasses.field(init=False, repr=False, compare=False)
    sequence: bool = dataclasses.field(init=False, repr=False, compare=False)
    optional: bool = dataclasses.field(init=False, repr=False, compare=False)
    boolean: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "record", is_record(self.annotation))
        object.__setattr__(self, "sequence", is_sequence(self.annotation))
        object.__setattr__(self, "optional", is_optional(self.annotation))
        object.__setattr__(self, "boolean", accepts_bool(self.annotation))

    @property
    def required(self) -> bool:
        return self.default is MISSING


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    bare = _strip(annotation)
    if get_origin(bare) in (Union, types.UnionType):
        return tuple(_strip(arg) for arg in get_args(bare))
    return (bare,)


_cached_members = functools.lru_cache(maxsize=1024)(_members)


def _union_members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation admits. Every request asks this of every field: answers are cached."""
    try:
        return _cached_members(annotation)
    except TypeError:  # an annotation that cannot be hashed (e.g. Annotated with a dict in it)
        return _members(annotation)


def is_optional(annotation: Any) -> bool:
    return type(None) in _union_members(annotation)


def is_sequence(annotation: Any) -> bool:
    return any(
        get_origin(m) in (list, tuple, set, frozenset) or m in (list, tuple, set, frozenset)
        for m in _union_members(annotation)
    )


def accepts_str(annotation: Any) -> bool:
    return any(m is str or m is Any for m in _union_members(annotation))


def accepts_bool(annotation: Any) -> bool:
    return any(m is bool for m in _union_members(annotation))


def is_record(annotation: Any) -> bool:
    """A msgspec Struct or dataclass: fed by a nested JSON object or `name.field` form keys."""
    bare = _union_members(annotation)
    return any(
        isinstance(m, type) and (issubclass(m, msgspec.Struct) or dataclasses.is_dataclass(m)) for m in bare
    )


def record_fields(record: type) -> tuple[Field, ...]:
    """The fields of a Struct or dataclass, with defaults (a default factory counts as a default)."""
    hints = get_type_hints(record, include_extras=True)
    if issubclass(record, msgspec.Struct):
        # Only "has a default" matters here; the record itself fills it in.
        return tuple(
            Field(f.name, hints.get(f.name, Any), MISSING if f.required else None)
            for f in msgspec.structs.fields(record)
        )
    result: list[Field] = []
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        result.append(Field(f.name, hints.get(f.name, Any), None if has_default else MISSING))
    return tuple(result)


# --- messages -------------------------------------------------------------------------------

TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "text",
    "array": "a list",
    "object": "an object",
    "null": "empty",
}
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def humanize(message: str) -> str:
    """A msgspec validation message in words a form user understands."""
    at = _AT.search(message)
    where = ""
    if at:
        message = message[: at.start()]
        path = at.group("path").lstrip(".")
        where = f"{path}: " if path else ""
    text = message
    if m := re.fullmatch(r"Expected `str` of length <= (\d+)", message):
        text = f"Must be at most {m.group(1)} characters"
    elif m := re.fullmatch(r"Expected `str` of length >= (\d+)", message):
        text = "Must not be empty" if m.group(1) == "1" else f"Must be at least {m.group(1)} characters"
    elif m := re.fullmatch(r"Expected `array` of length <= (\d+)", message):
        text = f"Must have at most {m.group(1)} items"
    elif m := re.fullmatch(r"Expected `array` of length >= (\d+)", message):
        text = f"Must have at least {m.group(1)} items"
    elif m := re.fullmatch(r"Expected `(?:int|float)` (>=|<=|>|<) (\S+)", message):
        words = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
        text = f"Must be {words[m.group(1)]} {m.group(2)}"
    elif m := re.fullmatch(r"Expected `str` matching regex .*", message):
        text = "Has an invalid format"
    elif m := re.fullmatch(r"Expected `([^`]+)`, got `[^`]+`", message):
        wanted = [TYPE_WORDS.get(part.strip(), part.strip()) for part in m.group(1).split("|")]
        text = "Must be " + " or ".join(w for w in wanted if w != "empty") if wanted else message
    elif message.startswith("Invalid enum value"):
        text = "Is not one of the allowed values"
    elif m := re.fullmatch(r"Object missing required field `([^`]+)`", message):
        return f"{where}{m.group(1)}: This field is required"
    elif m := re.fullmatch(r"Object contains unknown field `([^`]+)`", message):
        return f"{where}{m.group(1)}: Unknown field"
    return f"{where}{text}"


def _choices(annotation: Any) -> str | None:
    members: list[str] = []
    for m in _union_members(annotation):
        if isinstance(m, type) and issubclass(m, enum.Enum):
            members.extend(str(e.value) for e in m)
        elif get_origin(m) is typing.Literal:
            members.extend(str(v) for v in get_args(m))
    return ", ".join(members) if members else None


def _convert(value: object, field: Field, *, strict: bool) -> object:
    try:
        converted = msgspec.convert(value, field.annotation, strict=strict)
    except msgspec.ValidationError as exc:
        message = humanize(str(exc))
        if message == "Is not one of the allowed values" and (choices := _choices(field.annotation)):
            message = f"Must be one of: {choices}"
        raise _FieldError(message) from None
    if _has_huge_int(converted):
        raise _FieldError(INT_RANGE_MESSAGE)
    return converted


_SCALARS = frozenset({str, bool, float, type(None)})


def _has_huge_int(value: object) -> bool:
    """Whether an int outside INT_MIN..INT_MAX is anywhere in a converted value (msgspec allows any)."""
    if type(value) in _SCALARS:  # most parameters: nothing to walk
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                return True
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, msgspec.Struct):
            stack.extend(getattr(item, name) for name in item.__struct_fields__)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return False


class _FieldError(Exception):
    pass


# --- lax (strings from path, query string and forms) ---------------------------------------

BOOL_WORDS = {"on": "true", "off": "false", "yes": "true", "no": "false"}


def _lax_scalar(value: str, field: Field) -> object:
    """Form strings as msgspec's lax mode expects them."""
    # An empty non-text value is an error (not the default): the OpenAPI schema says so too.
    if value == "" and field.optional:
        return None
    if field.boolean and value.lower() in BOOL_WORDS:
        return BOOL_WORDS[value.lower()]
    return value


def _lax_value(field: Field, values: Mapping[str, Sequence[str]]) -> object:
    if field.record and field.name not in values:
        prefix = f"{field.name}."
        nested = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        if not nested:
            return MISSING
        records = [m for m in _union_members(field.annotation) if isinstance(m, type)]
        sub_fields = {f.name: f for f in record_fields(records[0])} if records else {}
        converted: dict[str, object] = {}
        for key, sub_raw in nested.items():
            sub = sub_fields.get(key)
            if sub is None:
                continue
            value = _lax_value(Field(key, sub.annotation), {key: sub_raw})
            if value is not MISSING:
                converted[key] = value
        return converted
    raw = values.get(field.name)
    if raw is None or len(raw) == 0:
        return MISSING
    if field.sequence:
        return [item for item in raw if item != ""]
    return _lax_scalar(raw[-1], field)


def parse_lax(fields: Sequence[Field], values: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Convert string inputs (unknown names ignored) to `fields`' types; InvalidInput names each bad one."""
    errors: dict[str, str] = {}
    result: dict[str, object] = {}
    for field in fields:
        raw = _lax_value(field, values)
        if raw is MISSING:
            if field.required:
                errors[field.name] = "This field is required"
            continue
        try:
            result[field.name] = _convert(raw, field, strict=False)
        except _FieldError as exc:
            errors[field.name] = str(exc)
    if errors:
        raise InvalidInput(errors, echo(values))
    return result


def echo(values: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Submitted values to refill a form with (never the CSRF token, passwords or tokens)."""
    return {
        k: v[-1] for k, v in values.items() if v and k not in RESERVED_FORM_FIELDS and k not in SECRET_FIELDS
    }


# --- strict (JSON bodies) -------------------------------------------------------------------


def decode_json(body: bytes) -> object:
    """A JSON body as Python values; InvalidInput for bad syntax, huge numbers or deep nesting."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.ValidationError:  # an integer literal msgspec cannot hold
        raise InvalidInput({BODY_KEY: INT_RANGE_MESSAGE}) from None
    except msgspec.DecodeError:
        raise InvalidInput({BODY_KEY: "Is not valid JSON"}) from None
    except RecursionError:
        raise InvalidInput({BODY_KEY: f"Must not be nested more than {MAX_JSON_DEPTH} levels deep"}) from None
    # Every level opens a bracket, so a body with few of them needs no walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise InvalidInput({BODY_KEY: f"Must not be nested more than {MAX_JSON_DEPTH} levels deep"})
    return value


def _deeper_than(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def parse_json(fields: Sequence[Field], body: object) -> dict[str, object]:
    """Convert a decoded JSON object to `fields`' types; unknown keys are errors."""
    if not isinstance(body, dict):
        raise InvalidInput({BODY_KEY: "Must be a JSON object"})
    errors: dict[str, str] = {}
    result: dict[str, object] = {}
    known = {f.name for f in fields}
    for key in body:
        if key not in known:
            errors[str(key)] = "Unknown field"
    for field in fields:
        if field.name not in body:
            if field.required:
                errors[field.name] = "This field is required"
            continue
        try:
            result[field.name] = _convert(body[field.name], field, strict=True)
        except _FieldError as exc:
            errors[field.name] = str(exc)
    if errors:
        raise InvalidInput(errors)
    return result


# Types a JSON value decodes to exactly as the per-field path converts it (see JsonInputs).
_PLAIN_JSON = frozenset({str, int, float, bool, type(None), Any})
_CONTAINERS = frozenset({list, tuple, set, frozenset, dict})


def _plain_json(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether every type in `annotation` decodes from JSON as `msgspec.convert` of its Python value does."""
    bare = _strip(annotation)
    origin = get_origin(bare)
    if bare in _PLAIN_JSON:
        return True
    if origin in (Union, types.UnionType) or origin in _CONTAINERS:
        return all(_plain_json(arg, seen) for arg in get_args(bare) if arg is not Ellipsis)
    if origin is typing.Literal:
        return True
    if isinstance(bare, type) and issubclass(bare, enum.Enum):
        return True
    if isinstance(bare, type) and is_record(bare):
        return bare in seen or all(_plain_json(f.annotation, seen | {bare}) for f in record_fields(bare))
    return False


class JsonInputs:
    """A function's JSON body decoded in one pass into its typed inputs, by a decoder built at declaration.

    Only a body that fits every field comes out; for anything else `decode` says None and the
    per-field path (decode_json, parse_json) finds and words each error as before.
    """

    def __init__(self, name: str, fields: Sequence[Field]) -> None:
        self._names = tuple(f.name for f in fields)
        self._required = tuple(f.name for f in fields if f.required)
        self._decoder: msgspec.json.Decoder[Any] | None = None
        if not all(_plain_json(f.annotation) for f in fields):
            return
        try:
            struct = msgspec.defstruct(
                f"{name}_json_inputs",
                [(f.name, Union[f.annotation, msgspec.UnsetType], msgspec.UNSET) for f in fields],  # noqa: UP007
                forbid_unknown_fields=True,
            )
            self._decoder = msgspec.json.Decoder(struct)
        except (TypeError, ValueError):  # a combination msgspec cannot decode: the per-field path
            self._decoder = None

    def decode(self, body: bytes) -> dict[str, object] | None:
        # Every level opens a bracket: a body with few of them is within MAX_JSON_DEPTH.
        if self._decoder is None or body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
            return None
        try:
            decoded = self._decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            return None
        values = {n: v for n in self._names if (v := getattr(decoded, n)) is not msgspec.UNSET}
        if any(n not in values for n in self._required) or any(_has_huge_int(v) for v in values.values()):
            return None
        return values


def build_record(record: type, values: dict[str, object]) -> object:
    """Construct a Struct/dataclass from converted values; its own checks become field errors."""
    try:
        return record(**values)
    except (ValueError, TypeError) as exc:
        raise InvalidInput({BODY_KEY: str(exc) or "Invalid value"}) from None


def function_fields(fn: Callable[..., object], skip: int = 1) -> tuple[tuple[Field, ...], Any]:
    """The fields of `fn`'s parameters after the first `skip` ones, and its return annotation."""
    hints = get_type_hints(fn, include_extras=True)
    params = list(inspect.signature(fn).parameters.values())[skip:]
    fields = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"remote function {fn.__name__} cannot take *args or **kwargs")
        if p.name not in hints:
            raise TypeError(f"remote function {fn.__name__}: parameter {p.name!r} needs a type annotation")
        fields.append(Field(p.name, hints[p.name], p.default))
    return tuple(fields), hints.get("return", Any)
