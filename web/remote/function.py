"""A declared remote function: parse the request, call the function, answer in the caller's form."""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, ParamSpec, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

from litestar import HttpMethod, MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.csrf import CSRF_SECRET_LENGTH
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

import web.remote.params as params
import web.remote.responses as responses
import web.remote.usage as usage
from actors.keys import hashed_id
from domain.errors import DomainError, NotSignedIn, ValidationFailed
from web.errors import (
    GENERIC_500,
    REDIS_DOWN,
    Caller,
    caller_of,
    domain_error_response,
    error_response,
    handle_redis_down,
)
from web.headers import header
from web.remote.context import (
    DEFAULT_SIGN_IN_MESSAGE,
    Context,
    client_ip_of,
    context_from,
    same_origin_next,
    user_of,
)
from web.remote.openapi import (
    ANSWER,
    ErrorBody,
    FieldErrorsBody,
    OptionalBodyOperation,
    RemoteRouteHandler,
    doc_signature,
)
from web.remote.params import InvalidInput
from web.remote.ratelimit import RateLimit
from web.remote.spec import Admit, Kind, View

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
AnyRequest = Request[Any, Any, Any]
PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
# A partial's name in `updates=`: its file partials/<name>.html and its root element's id.
UPDATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
DEFAULT_MAX_BODY = 64 * 1024
URL_ENCODED = "application/x-www-form-urlencoded"


@dataclass
class RawInput:
    """A request's input before validation: strings (query/form) or a decoded JSON body."""

    values: dict[str, list[str]] | None = None
    json: object = None
    # A JSON body its function's decoder took in one pass: already the typed inputs.
    inputs: dict[str, object] | None = None
    error: str | None = None
    echo: dict[str, str] = field(default_factory=dict)
    next: str | None = None
    idempotency_key: str | None = None


class RemoteFunction(Generic[P, R]):
    """A declared remote function: call it like the original, or mount `route_handler()`."""

    def __init__(
        self,
        fn: Callable[P, Awaitable[R]],
        *,
        kind: Kind,
        path: str | None,
        public: bool | None,
        signed_in: str | None,
        partial: str | None,
        page: str | None,
        result_as: str,
        rate_limit: RateLimit | None,
        redirect: str,
        flash: str | None,
        max_body: int,
        view: View | None = None,
        stay: bool = False,
        aliases: tuple[str, ...] = (),
        admit: Admit | None = None,
        updates: Sequence[str] = (),
        track: str | None = None,
        tenant: str | None = None,
    ) -> None:
        self.fn = fn
        self.name: str = fn.__name__
        self.kind = kind
        self.path_template = path or f"/_remote/{self.name}"
        self.public = _resolve_public(self.name, kind, public, signed_in)
        self.sign_in_message: str | None = None if self.public else (signed_in or DEFAULT_SIGN_IN_MESSAGE)
        self.partial = partial
        self.page = page
        self.result_as = result_as
        self.rate_limit = rate_limit
        # The usage event each successful call served over HTTP counts (web/remote/usage.py).
        self.track = None if track is None else usage.validate_event(track)
        self.admit = admit
        self.redirect = redirect
        self.flash = flash
        self.max_body = max_body
        self.view = view
        self.stay = stay
        bad = [name for name in updates if UPDATE_NAME.fullmatch(name) is None]
        if bad or (updates and kind == "query"):
            raise TypeError(
                f"{self.name}: updates= names partials (partials/<name>.html) a command or form changes; "
                f"got {bad or list(updates)}"
            )
        # The main partial is already in the answer: naming it again would swap it twice.
        self.updates = tuple(name for name in dict.fromkeys(updates) if name != self.partial_id)
        functools.update_wrapper(self, fn)

        all_fields, self.result_annotation = params.function_fields(fn)
        path_names = [m.group(1) for m in PATH_PARAM.finditer(self.path_template)]
        by_name = {f.name: f for f in all_fields}
        missing = [n for n in path_names if n not in by_name]
        if missing:
            raise TypeError(f"{self.name}: path parameters {missing} are not parameters of the function")
        self.path_fields = tuple(by_name[n] for n in path_names)
        if tenant is not None and tenant not in path_names:
            raise TypeError(f"{self.name}: tenant={tenant!r} must name a path parameter")
        # The path parameter naming the organization the call acts in (ctx.act_in, before limits).
        self.tenant = tenant
        self.input_fields = tuple(f for f in all_fields if f.name not in path_names)
        self.record_param: str | None = None
        self.record_type: type | None = None
        if kind == "form":
            if len(self.input_fields) != 1 or not params.is_record(self.input_fields[0].annotation):
                raise TypeError(
                    f"{self.name}: a form function takes one Struct or dataclass (after path params)"
                )
            self.record_param = self.input_fields[0].name
            self.record_type = self.input_fields[0].annotation
            self.input_fields = params.record_fields(self.input_fields[0].annotation)
        self.json_inputs = params.JsonInputs(self.name, self.input_fields)
        self.litestar_path = litestar_path(self.path_template)
        split = PATH_PARAM.split(self.path_template)  # [text, name, type, text, name, type, text]
        self._path_parts = tuple(part for i, part in enumerate(split) if i % 3 != 2)
        # Further URLs answered by the same function (kept for links and callers that use them). An
        # alias may leave out a path parameter that has a default: `/things` for `/things/{id}`.
        self.aliases = aliases
        defaulted = {f.name for f in self.path_fields if not f.required}
        for alias in aliases:
            names = [m.group(1) for m in PATH_PARAM.finditer(alias)]
            if not set(names) <= set(path_names) or not set(path_names) - set(names) <= defaulted:
                raise TypeError(
                    f"{self.name}: alias {alias!r} must have the path parameters {path_names} "
                    "(those with a default may be left out)"
                )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        return self._call(*args, **kwargs)

    async def _call(self, *args: Any, **kwargs: Any) -> R:
        if self.sign_in_message is not None:
            ctx = args[0] if args else kwargs.get("ctx")
            if isinstance(ctx, Context):
                ctx.require_user(self.sign_in_message)
        return await self.fn(*args, **kwargs)

    # --- URLs and templates --------------------------------------------------------------

    @property
    def method(self) -> Literal["GET", "POST"]:
        return "GET" if self.kind == "query" else "POST"

    def url(self, **args: object) -> str:
        """The URL with path parameters filled in (and, for a query, the rest as a query string)."""
        rest = dict(args)
        # The template split once at declaration: literal text and parameter names, alternating.
        parts = list(self._path_parts)
        for i in range(1, len(parts), 2):
            name = parts[i]
            if name not in rest:
                raise TypeError(f"{self.name}: url() needs {name}")
            parts[i] = quote(str(rest.pop(name)), safe="")
        path = "".join(parts)
        if self.kind == "query" and rest:
            path += "?" + urlencode({k: form_value(v) for k, v in rest.items()}, doseq=True)
        return path

    @property
    def partial_id(self) -> str | None:
        """The partial's root element id, which by convention is its file name."""
        if not self.partial:
            return None
        return self.partial.rsplit("/", 1)[-1].split(".", 1)[0]

    def template_context(
        self,
        result: object,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        message: str | None = None,
    ) -> dict[str, object]:
        return {
            self.result_as: result,
            "result": result,
            "errors": errors or {},
            "values": values or {},
            "message": message,
            "notice": None,
        }

    async def _view(
        self,
        caller: Caller,
        ctx: Context,
        result: object = None,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        message: str | None = None,
    ) -> dict[str, object]:
        """The template context of an answer (none is rendered for JSON callers or redirects)."""
        if caller is Caller.JSON or ctx.effects.redirect is not None:
            return {}
        context = self.template_context(result, errors=errors, values=values, message=message)
        context.update(ctx.effects.view)
        if self.view is not None:
            context = await self.view(ctx, context)
        return context

    # --- HTTP ----------------------------------------------------------------------------

    async def _read_raw(self, request: AnyRequest) -> RawInput:
        if self.kind == "query":
            values = {k: list(v) for k, v in request.query_params.dict().items()}
            return RawInput(values=values, echo=params.echo(values))
        if header(request.scope, b"content-type").split(";", 1)[0].strip().lower() == URL_ENCODED:
            # A form post, as Litestar's request.form() parses it, without its multidict.
            pairs = parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True, separator="&")
            return self._form_input(pairs)
        content_type = request.content_type[0]
        if content_type == "application/json" or content_type.endswith("+json"):
            body = await request.body()
            if not body.strip():
                return RawInput(json={})
            if (inputs := self.json_inputs.decode(body)) is not None:
                return RawInput(inputs=inputs)
            try:
                return RawInput(json=params.decode_json(body))
            except InvalidInput as exc:
                return RawInput(error=exc.errors[params.BODY_KEY])
        form = await request.form()
        return self._form_input((k, v) for k, v in form.multi_items() if isinstance(v, str))

    @staticmethod
    def _form_input(pairs: Iterable[tuple[str, str]]) -> RawInput:
        values: dict[str, list[str]] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        next_values = values.get("next")
        keys = values.get("_idempotency_key")
        return RawInput(
            values=values,
            echo=params.echo(values),
            next=next_values[-1] if next_values else None,
            idempotency_key=keys[-1] if keys else None,
        )

    def _parse(self, path_params: dict[str, Any], raw: RawInput) -> dict[str, object]:
        errors: dict[str, str] = {}
        args: dict[str, object] = {}
        try:
            args.update(params.parse_lax(self.path_fields, {k: [str(v)] for k, v in path_params.items()}))
        except InvalidInput as exc:
            errors.update(exc.errors)
        try:
            if raw.error is not None:
                raise InvalidInput({params.BODY_KEY: raw.error})
            if raw.inputs is not None:
                inputs = raw.inputs
            elif raw.values is not None:
                values = {k: v for k, v in raw.values.items() if k not in params.RESERVED_FORM_FIELDS}
                inputs = params.parse_lax(self.input_fields, values)
            else:
                inputs = params.parse_json(self.input_fields, raw.json)
        except InvalidInput as exc:
            errors.update(exc.errors)
            inputs = {}
        if errors:
            raise InvalidInput(errors)
        if self.record_param is not None and self.record_type is not None:
            args[self.record_param] = params.build_record(self.record_type, inputs)
        else:
            args.update(inputs)
        return args

    def _scoped_key(self, key: str, request: AnyRequest) -> str:
        """The caller's key as the actors' request id: its stored result is this caller's, for this function.

        A signed-in caller is its user; a signed-out one its browser (the CSRF secret that passed the
        check), or its address when no CSRF check ran. Another caller's key is a fresh request.
        """
        if (user := user_of(request)) is not None:
            caller = f"user:{user.id}"
        elif csrf := value_or_default(ScopeState.from_scope(request.scope).csrf_token, ""):
            caller = f"browser:{csrf[:CSRF_SECRET_LENGTH]}"
        else:
            caller = f"ip:{client_ip_of(request)}"
        return hashed_id(f"{self.name}\n{caller}\n{key}")

    async def handle(self, request: AnyRequest) -> Response[Any]:
        caller = caller_of(request)
        if self.kind == "query" and caller is Caller.BROWSER and not prefers_html(request):
            # A read for a client that did not ask for HTML (`curl`, `fetch`, scripts): JSON.
            caller = Caller.JSON
        raw = RawInput()
        ctx = Context()
        try:
            raw = await self._read_raw(request)
            key = raw.idempotency_key or header(request.scope, b"idempotency-key") or None
            valid = key is None or IDEMPOTENCY_KEY.fullmatch(key) is not None
            ctx = context_from(
                request,
                next=same_origin_next(request, raw.next),
                idempotency_key=self._scoped_key(key, request) if key is not None and valid else None,
            )
            if not valid:
                raise InvalidInput({"idempotency_key": "Must be 8-64 characters from A-Z a-z 0-9 _ . : -"})
            if self.sign_in_message is not None:
                ctx.require_user(self.sign_in_message)
            args: dict[str, object] | None = None
            if self.tenant is not None:
                # Refused input answers 422 as everywhere; then the organization, before its limit.
                args = self._parse(request.path_params, raw)
                await ctx.act_in(str(request.path_params.get(self.tenant, "")))
            if self.rate_limit is not None:
                await self.rate_limit.check(self.name, ctx)
            if self.admit is not None:
                self.admit(ctx)
            if args is None:
                args = self._parse(request.path_params, raw)
            result = await self.fn(ctx, **args)  # type: ignore[arg-type]
            if self.track is not None:
                await usage.track_call(self.track, ctx)
            context = await self._view(caller, ctx, result)
        except InvalidInput as exc:
            return await self._refused(
                request, caller, ctx, raw, ValidationFailed("", field_errors=exc.errors)
            )
        except DomainError as exc:
            return await self._refused(request, caller, ctx, raw, exc)
        except HTTPException:
            raise  # malformed or oversized bodies: the app's handlers answer 400/413 in the caller's form
        except REDIS_DOWN as exc:
            return handle_redis_down(request, exc)
        except Exception:
            log.exception(
                "remote function %s failed request_id=%s", self.name, context_from(request).request_id
            )
            return error_response(request, 500, GENERIC_500)
        return responses.success(self, request, caller, result, ctx, context)

    async def _refused(
        self, request: AnyRequest, caller: Caller, ctx: Context, raw: RawInput, exc: DomainError
    ) -> Response[Any]:
        """A refusal in the caller's form; building the re-rendered form may itself fail (Redis down)."""
        context: dict[str, object] = {}
        try:
            if not isinstance(exc, NotSignedIn):
                context = await self._view(
                    caller, ctx, errors=exc.field_errors, values=raw.echo, message=exc.message
                )
        except NotSignedIn as inner:
            return responses.failed(self, request, caller, inner, ctx, {})
        except DomainError as inner:
            return domain_error_response(request, inner)
        except REDIS_DOWN as down:
            return handle_redis_down(request, down)
        return responses.failed(self, request, caller, exc, ctx, context)

    def _operation_id(self, _: HTTPRouteHandler, __: object, components: list[object]) -> str:
        """The function's name for its own path; aliases get `<name>_<n>` (OpenAPI wants them unique)."""
        path = "/" + "/".join(
            c if isinstance(c, str) else "{" + str(getattr(c, "name", "")) + "}" for c in components
        )
        for n, alias in enumerate(self.aliases, start=2):
            if PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", alias) == path:
                return f"{self.name}_{n}"
        return self.name

    def route_handler(self) -> HTTPRouteHandler:
        """A fresh Litestar route handler for this function (one per app)."""

        async def endpoint() -> object:
            return ANSWER  # the handler's `respond` answers: no parameters for Litestar to resolve

        endpoint.__name__ = endpoint.__qualname__ = self.name
        endpoint.__module__ = self.fn.__module__
        error_specs = {
            422: ResponseSpec(FieldErrorsBody, description="Invalid input: each bad field named"),
            429: ResponseSpec(ErrorBody, description="Rate limited; see Retry-After"),
        }
        if self.sign_in_message is not None:
            error_specs[401] = ResponseSpec(ErrorBody, description="Not signed in")
        handler = RemoteRouteHandler(
            doc_signature=doc_signature(self),
            respond=self.handle,
            path=[
                self.litestar_path,
                *(litestar_path(a) for a in self.aliases),
            ],
            http_method=HttpMethod.GET if self.kind == "query" else HttpMethod.POST,
            name=self.name,
            operation_id=self._operation_id,
            status_code=200,
            media_type=MediaType.JSON,
            description=inspect.getdoc(self.fn),
            summary=self.name.replace("_", " ").capitalize(),
            tags=["remote"],
            responses=error_specs,
            request_max_body_size=self.max_body,
            operation_class=(
                OptionalBodyOperation
                if self.kind != "query" and not any(f.required for f in self.input_fields)
                else Operation
            ),
            cache=False,
            opt={"public": self.public},
        )
        return handler(endpoint)


def litestar_path(template: str) -> str:
    """The Litestar path of a template: `{name}` is a str parameter, `{name:int}` keeps its type."""
    return PATH_PARAM.sub(lambda m: "{" + m.group(1) + ":" + (m.group(2) or "str") + "}", template)


def _resolve_public(name: str, kind: Kind, public: bool | None, signed_in: str | None) -> bool:
    """Guarded by default: queries need a user unless public; changes must say who may call them."""
    if public and signed_in is not None:
        raise TypeError(f"{name}: public=True and signed_in=... contradict each other; choose one")
    if public is None and signed_in is None and kind != "query":
        raise TypeError(
            f"remote {kind} {name!r} must say who may call it: public=True (anyone, e.g. sign-in) "
            'or public=False / signed_in="Please sign in to ..." (signed-in users only)'
        )
    return bool(public)


def prefers_html(request: AnyRequest) -> bool:
    """Browsers name text/html in Accept when they navigate; htmx marks its requests."""
    if header(request.scope, b"hx-request") == "true":
        return True
    return any(part.strip().startswith("text/html") for part in header(request.scope, b"accept").split(","))


def form_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
