"""Contracts of the private library internals behind web/private_apis.py and the hand-packed RESP."""

from __future__ import annotations

import asyncio
import inspect
import signal

from litestar.connection import ASGIConnection
from redis.asyncio.connection import Connection

from actors.scripts import Script, _Call, _pack
from web.auth.cookies import request_cookies
from web.private_apis import (
    KwargsModel,
    SignatureModel,
    loop_signal_handler,
    parse_cookie_string,
    should_bypass_middleware,
)


def parameters(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_litestar_signature_model_is_still_built_from_these_arguments() -> None:
    assert parameters(SignatureModel.create) == [
        "dependency_name_set",
        "fn",
        "parsed_signature",
        "type_decoders",
        "data_dto",
    ]


def test_litestar_kwargs_model_is_still_built_from_these_arguments() -> None:
    assert parameters(KwargsModel.create_for_signature_model) == [
        "signature_model",
        "parsed_signature",
        "dependencies",
        "path_parameters",
        "layered_parameters",
        "ctx",
    ]


def test_litestar_bypass_check_still_takes_these_keywords() -> None:
    assert set(parameters(should_bypass_middleware)) == {
        "exclude_http_methods",
        "exclude_opt_key",
        "exclude_path_pattern",
        "scope",
        "scopes",
    }


def test_asyncio_loop_still_keeps_signal_handlers_where_the_adapter_reads_them() -> None:
    loop = asyncio.new_event_loop()
    try:
        seen: list[str] = []
        loop.add_signal_handler(signal.SIGUSR1, seen.append, "x")
        found = loop_signal_handler(loop, signal.SIGUSR1)
        assert found is not None
        callback, args = found
        callback(*args)
        assert seen == ["x"]
        assert loop_signal_handler(loop, signal.SIGUSR2) is None
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        loop.close()


def test_hand_packed_evalsha_is_byte_for_byte_what_redis_py_sends() -> None:
    script = Script("x_y", b"return 1", "a" * 40)
    call = _Call(script, ["actor:x:{1}", "actor:x:{1}:rq:y:-"], ["x", "1", 120000, 2.5, "é"], mutating=True)
    expected = b"".join(
        Connection().pack_command("EVALSHA", script.sha, 2, *call.keys, *call.args)  # type: ignore[no-untyped-call]
    )
    assert _pack(call) == expected


def test_litestar_cookie_parser_still_parses_what_request_cookies_reads() -> None:
    header = 'session=abc; csrftoken="q%20t"; =lone; flash=a=b'
    parsed = parse_cookie_string(header)
    scope: dict[str, object] = {"type": "http", "headers": [(b"cookie", header.encode())]}
    # Litestar's own property, on a fresh scope, parses to the same dict the adapter does...
    assert ASGIConnection(scope).cookies == parsed  # type: ignore[arg-type]
    assert parsed["session"] == "abc" and parsed["flash"] == "a=b"
    # ...and a scope our helper parsed first hands Litestar the very same dict.
    ours: dict[str, object] = {"type": "http", "headers": [(b"cookie", header.encode())]}
    assert request_cookies(ours) is ASGIConnection(ours).cookies  # type: ignore[arg-type]
    assert request_cookies({"type": "http", "headers": []}) == {}  # type: ignore[arg-type]
