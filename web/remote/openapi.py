"""A remote function's Litestar route: documented with the function's parameters, answered by the function.

The route's own handler takes no parameters, so Litestar resolves no kwargs and parses no signature
model per request; the remote function reads the request itself (web/remote/function.py).
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

import msgspec
from litestar import Litestar, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import ParameterKwarg
from litestar.response import Template
from litestar.types import ASGIApp, Empty
from litestar.types.internal_types import PathParameterDefinition
from litestar.utils.signature import ParsedSignature

import web.remote.params as params
from web import page_state
from web.private_apis import KwargsModel, SignatureModel
from web.remote.answer import Answer
from web.remote.params import Field
from web.remote.spec import RemoteSpec


class ErrorBody(msgspec.Struct):
    """A failure with a message (401, 403, 404, 409, 429, 500, 503)."""

    error: str


class FieldErrorsBody(msgspec.Struct):
    """422: each bad field named with a message."""

    errors: dict[str, str]
    error: str | None = None


# What a remote function's route handler returns: "answer with the remote function".
ANSWER = object()


class RemoteRouteHandler(HTTPRouteHandler):
    """A route whose OpenAPI entry shows the function's parameters, while it parses input itself.

    It decorates an endpoint that returns ANSWER; `respond(request)` then answers. Page state
    (preferences, the organization menu) is read when the answer renders, if its templates read it.
    """

    def __init__(
        self,
        *,
        doc_signature: ParsedSignature,
        respond: Callable[[Request[Any, Any, Any]], Awaitable[Response[Any]]],
        **kwargs: Any,
    ) -> None:
        kwargs["opt"] = {**(kwargs.get("opt") or {}), page_state.ON_RENDER: True}
        super().__init__(**kwargs)
        self._doc_signature = doc_signature
        self._respond = respond

    async def to_response(self, app: Litestar, data: Any, request: Request[Any, Any, Any]) -> ASGIApp:
        if data is ANSWER:  # otherwise the app's before_request hook answered
            data = await self._respond(request)
        if isinstance(data, Answer) and data.templates:
            await page_state.load_for_templates(request, (name for name, _ in data.templates))
        elif isinstance(data, Template):
            await page_state.load_for_templates(request, (data.template_name or "",))
        return await super().to_response(app, data, request)

    @property
    def parsed_fn_signature(self) -> ParsedSignature:
        return self._doc_signature

    def _runtime_signature(self) -> ParsedSignature:
        return ParsedSignature.from_fn(self.fn, {"Request": Request, "Response": Response})

    @property
    def signature_model(self) -> type[SignatureModel]:
        if self._signature_model is Empty:
            self._signature_model = SignatureModel.create(
                dependency_name_set=self.dependency_name_set,
                fn=self.fn,
                parsed_signature=self._runtime_signature(),
                data_dto=None,
                type_decoders=self.resolve_type_decoders(),
            )
        return self._signature_model

    def create_kwargs_model(self, path_parameters: dict[str, PathParameterDefinition]) -> KwargsModel:
        return KwargsModel.create_for_signature_model(
            signature_model=self.signature_model,
            parsed_signature=self._runtime_signature(),
            dependencies=self.resolve_dependencies(),
            path_parameters=set(path_parameters.keys()),
            layered_parameters=self.resolve_layered_parameters(),
            ctx=self,
        )


@dataclass
class OptionalBodyOperation(Operation):
    """The OpenAPI operation of a command whose every input has a default: an empty body is fine."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


META_TO_KWARGS = ("gt", "ge", "lt", "le", "multiple_of", "pattern", "title", "description")


def _parameter_annotation(annotation: Any) -> Any:
    """msgspec.Meta constraints restated for Litestar's OpenAPI parameters (it reads only its own)."""
    if get_origin(annotation) is not Annotated:
        return annotation
    base, *metadata = get_args(annotation)
    kwargs: dict[str, Any] = {}
    sequence = params.is_sequence(base)
    for meta in metadata:
        if not isinstance(meta, msgspec.Meta):
            continue
        kwargs.update({k: getattr(meta, k) for k in META_TO_KWARGS if getattr(meta, k) is not None})
        if meta.min_length is not None:
            kwargs["min_items" if sequence else "min_length"] = meta.min_length
        if meta.max_length is not None:
            kwargs["max_items" if sequence else "max_length"] = meta.max_length
    return Annotated[base, ParameterKwarg(**kwargs)] if kwargs else base


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _struct_default(f: Field) -> Any:
    if f.required:
        return msgspec.NODEFAULT
    if isinstance(f.default, list | dict | set):
        return msgspec.field(default_factory=functools.partial(copy.copy, f.default))
    return f.default


def doc_signature(rf: RemoteSpec) -> ParsedSignature:
    """The signature Litestar documents: path and query parameters, a JSON body, the result type."""
    kw = inspect.Parameter.KEYWORD_ONLY
    parameters = []
    hints: dict[str, Any] = {}
    query_fields = rf.input_fields if rf.kind == "query" else ()
    for f in (*rf.path_fields, *query_fields):
        annotation = _parameter_annotation(f.annotation)
        parameters.append(inspect.Parameter(f.name, kw, annotation=annotation, default=f.default))
        hints[f.name] = annotation
    if rf.kind != "query":
        body: Any = rf.record_type
        if body is None:
            body = msgspec.defstruct(
                f"{_camel(rf.name)}Input",
                [(f.name, f.annotation, _struct_default(f)) for f in rf.input_fields],
                forbid_unknown_fields=True,
                kw_only=True,
            )
        parameters.append(inspect.Parameter("data", kw, annotation=body))
        hints["data"] = body
    hints["return"] = rf.result_annotation
    signature = inspect.Signature(parameters, return_annotation=rf.result_annotation)
    return ParsedSignature.from_signature(signature, hints)
