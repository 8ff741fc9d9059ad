"""A remote function's common answers, sent with headers encoded once and templates looked up once.

Litestar's Template and Response build an ASGIResponse for every answer: they look up the template,
work out the media type and encode every header again. A remote function's answers have a handful
of fixed header sets, so an `Answer` takes its encoded headers from a cache and its templates from the
app's environment, which keeps each loaded template (web/templating.py); the bytes on the wire are
the ones Litestar's Response would have sent (tests/web/test_remote_compiled.py holds them to that).
The home page answers the same way (web/pages.py).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import Environment, Template
from litestar import MediaType, Request, Response
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import ImproperlyConfiguredException
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json, get_serializer
from litestar.types import TypeEncodersMap
from litestar.utils import get_enum_string_value, url_quote
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

AnyRequest = Request[Any, Any, Any]
Headers = tuple[tuple[bytes, bytes], ...]


@functools.lru_cache(maxsize=512)
def _encoded(items: tuple[tuple[str, str], ...], media_type: str) -> Headers | None:
    """Header pairs in the order and case Litestar's ASGIResponse sends them (content-type after).

    None when the headers name their own content type or length (Litestar's way keeps those).
    """
    if any(name.lower() in ("content-type", "content-length") for name, _ in items):
        return None
    content_type = f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type
    return (
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in items),
        (b"content-type", content_type.encode("latin-1")),
    )


class _Encoded(ASGIResponse):
    """Litestar's ASGIResponse given its headers already encoded (its own __init__ encodes them)."""

    __slots__ = ()

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.headers = MutableScopeHeaders({"headers": headers})
        self.body = body
        self.content_length = len(body)
        self.background = None
        self.encoding = "utf-8"
        self.is_head_response = False

    def encode_headers(self) -> list[tuple[bytes, bytes]]:
        return self.headers.headers  # the cookies are among them


class Answer(Response[bytes]):
    """A Response with its body encoded (JSON, or none) or its templates named, and cached headers.

    Effects and flash messages add cookies and headers to it as to any Response. Templates render
    when it is sent, as Litestar's Template response does (after any flash was attached).
    """

    __slots__ = ("context", "templates")

    def __init__(
        self,
        content: bytes,
        *,
        status_code: int,
        headers: Mapping[str, str],
        media_type: MediaType | None,
        templates: tuple[tuple[str, Mapping[str, object]], ...] = (),
        context: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(content, status_code=status_code, headers=dict(headers), media_type=media_type)
        # (name, extra values) of each template, rendered one after another into the body.
        self.templates = templates
        self.context = context or {}

    def to_asgi_response(
        self,
        app: Any,
        request: AnyRequest,
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        if self.templates:
            self.content = b"".join(
                render(request, name, self.context, **extra) for name, extra in self.templates
            )
        status = self.status_code or 200
        plain = not (
            headers or cookies or encoded_headers or background or self.background or is_head_response
        )
        fixed = _encoded(
            tuple(self.headers.items()),
            get_enum_string_value(self.media_type or media_type or MediaType.JSON),
        )
        if not plain or fixed is None or status < 200 or status in (204, 304):  # Litestar's own way
            return super().to_asgi_response(
                app,
                request,
                background=background,
                cookies=cookies,
                encoded_headers=encoded_headers,
                headers=headers,
                is_head_response=is_head_response,
                media_type=media_type,
                status_code=status_code,
                type_encoders=type_encoders,
            )
        sent = [*fixed, (b"content-length", str(len(self.content)).encode())]
        sent.extend(cookie.to_encoded_header() for cookie in self.cookies if not cookie.documentation_only)
        return _Encoded(status, sent, self.content)


def json_answer(request: AnyRequest, status: int, headers: Mapping[str, str], content: object) -> Answer:
    """`content` as JSON, encoded with the route's type encoders as Litestar's Response would."""
    if isinstance(content, bytes | str):  # sent as they are, as Response.render does
        body = content.encode() if isinstance(content, str) else content
    else:
        try:
            body = encode_json(content, get_serializer(request.route_handler.resolve_type_encoders()))
        except (AttributeError, ValueError, TypeError) as exc:
            raise ImproperlyConfiguredException("Unable to serialize response content") from exc
    return Answer(body, status_code=status, headers=headers, media_type=MediaType.JSON)


def html_answer(
    status: int,
    headers: Mapping[str, str],
    context: Mapping[str, object],
    *templates: tuple[str, Mapping[str, object]],
) -> Answer:
    """`templates` rendered with `context` (and what Litestar's Template response adds to it)."""
    return Answer(
        b"",
        status_code=status,
        headers=headers,
        media_type=MediaType.HTML,
        templates=templates,
        context=context,
    )


def redirect_answer(to: str, headers: Mapping[str, str]) -> Answer:
    """A 303 to `to`, as Litestar's Redirect sends it: an empty body of the route's media type."""
    return Answer(b"", status_code=303, headers={**headers, "location": url_quote(to)}, media_type=None)


def template_context(request: AnyRequest, context: Mapping[str, object]) -> dict[str, object]:
    """What Litestar's Template response adds to a template's context: the request and the CSRF input."""
    csrf_token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    return {
        **context,
        "request": request,
        "csrf_input": f'<input type="hidden" name="_csrf_token" value="{html.escape(csrf_token)}" />',
    }


def template(request: AnyRequest, name: str) -> Template:
    """The app's loaded template `name` (web/templating.py's environment keeps each one by name)."""
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("remote functions that render templates need the app's template engine")
    environment: Environment = engine.engine  # type: ignore[attr-defined]
    return environment.get_template(name)


def render(request: AnyRequest, name: str, context: Mapping[str, object], **extra: object) -> bytes:
    return template(request, name).render(**template_context(request, context), **extra).encode()
