"""Jinja helpers: one call renders htmx attributes and a real form, so calls work without JavaScript."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

import msgspec
from jinja2 import pass_context
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.base import csrf_token
from markupsafe import Markup, escape

from web import flash
from web.headers import header
from web.remote.context import same_origin_next
from web.remote.declare import REGISTRY, Registry
from web.remote.function import RemoteFunction

BUTTON_CLASS = (
    "rounded-md bg-indigo-600 px-3 py-1.5 font-medium text-white hover:bg-indigo-700 "
    "focus:outline-none focus:ring-2 focus:ring-indigo-500 focus:ring-offset-2 disabled:opacity-50"
)


def _attrs(pairs: Mapping[str, object]) -> Markup:
    # f-strings over escape() rather than Markup.format: same escaping, a fraction of the cost on
    # the hot path (a partial with a button renders one of these per response). Names come from our code.
    return Markup(" ".join(f'{name}="{escape(value)}"' for name, value in pairs.items() if value is not None))  # noqa: S704 (escaped)


def _current_path(context: Mapping[str, Any]) -> str | None:
    """The page the user is looking at (inside an htmx swap, the page that asked for it)."""
    request = context.get("request")
    if not isinstance(request, Request):
        return None
    if header(request.scope, b"hx-request") == "true":
        return same_origin_next(request, header(request.scope, b"hx-current-url"))
    return same_origin_next(
        request, str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    )


def _post_fields(context: Mapping[str, Any]) -> str:
    """The hidden CSRF token and `next` fields every button of a page posts, made once per request."""
    request = context.get("request")
    scope = cast(dict[str, Any], request.scope) if isinstance(request, Request) else None
    if scope is not None and isinstance(made := scope.get(_POST_FIELDS_KEY), str):
        return made
    fields = ""
    if token := csrf_token(context):
        fields += _hidden("_csrf_token", token)
    if next_path := _current_path(context):
        fields += _hidden("next", next_path)
    if scope is not None:
        scope[_POST_FIELDS_KEY] = fields
    return fields


def _hidden(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


# Where a request keeps its buttons' hidden fields (the CSRF token is fixed before anything renders).
_POST_FIELDS_KEY = "remote_post_fields"
# Stands in for the URL while a button's static markup is built; no URL or attribute contains it.
_URL_SLOT = "\x00url\x00"


class RemoteHelpers:
    """The `remote` object templates see: `remote.url`, `remote.attrs`, `remote.button`, `remote.link`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._frames: dict[tuple[str, str, str | None, str | None, str, str], tuple[str, str, str, str]] = {}

    def _get(self, name: str | RemoteFunction[..., Any]) -> RemoteFunction[..., Any]:
        return name if isinstance(name, RemoteFunction) else self.registry.get(name)

    def url(self, name: str, **args: object) -> str:
        return self._get(name).url(**args)

    def _hx(
        self, rf: RemoteFunction[..., Any], url: str, target: str | None, swap: str | None
    ) -> dict[str, object]:
        default_target = f"#{rf.partial_id}" if rf.partial_id else None
        return {
            f"hx-{rf.method.lower()}": url,
            "hx-target": target or default_target,
            "hx-swap": swap or ("outerHTML" if (target or default_target) else "none"),
        }

    @pass_context
    def attrs(
        self,
        context: Mapping[str, Any],
        name: str,
        *,
        target: str | None = None,
        swap: str | None = None,
        trigger: str | None = None,
        **args: object,
    ) -> Markup:
        """`hx-get`/`hx-post`, target and swap attributes for any element (e.g. a polling section)."""
        rf = self._get(name)
        pairs = self._hx(rf, rf.url(**{f.name: args.pop(f.name) for f in rf.path_fields}), target, swap)
        if rf.method == "POST":
            token = csrf_token(context)
            # Plain text: _attrs escapes its quotes (Markup would be inserted raw and end the attribute).
            pairs["hx-headers"] = msgspec.json.encode({"x-csrftoken": token}).decode() if token else None
        if args:
            pairs["hx-vals"] = msgspec.json.encode(dict(args)).decode()
        pairs["hx-trigger"] = trigger
        return _attrs(pairs)

    def _button_frame(
        self,
        rf: RemoteFunction[..., Any],
        label: str,
        target: str | None,
        swap: str | None,
        button_class: str,
        form_class: str,
    ) -> tuple[str, str, str, str]:
        """The parts of a button's markup that only depend on how the template calls it, escaped once.

        Returned as (`<form ... action="`, `" ... hx-post="`, `" ...>`, `<button>...</form>`): the URL
        goes between the first three, the hidden inputs between the last two.
        """
        key = (rf.name, label, target, swap, button_class, form_class)
        frame = self._frames.get(key)
        if frame is None:
            attrs: dict[str, object] = {"method": rf.method.lower(), "action": _URL_SLOT, "class": form_class}
            attrs.update(self._hx(rf, _URL_SLOT, target, swap))
            if rf.method == "POST":
                attrs["hx-disabled-elt"] = "find button"
            head, middle, tail = f"<form {_attrs(attrs)}>".split(_URL_SLOT)
            button = f'<button type="submit" class="{escape(button_class)}">{escape(label)}</button></form>'
            frame = self._frames[key] = (head, middle, tail, button)
        return frame

    @pass_context
    def button(
        self,
        context: Mapping[str, Any],
        name: str,
        label: str,
        *,
        target: str | None = None,
        swap: str | None = None,
        button_class: str = BUTTON_CLASS,
        form_class: str = "inline",
        **args: object,
    ) -> Markup:
        """A `<form>` with one button: htmx swaps the partial; without JavaScript it posts and comes back."""
        rf = self._get(name)
        path_args = {f.name: args.pop(f.name) for f in rf.path_fields if f.name in args}
        url = escape(rf.url(**path_args))
        # A partial with a button renders one of these per response: the static markup is built once.
        head, middle, tail, button = self._button_frame(rf, label, target, swap, button_class, form_class)
        parts = [head, url, middle, url, tail]
        if rf.method == "POST":
            parts.append(_post_fields(context))
            # One key per rendered button: a double submit or a retried request applies once.
            parts.append(f'<input type="hidden" name="_idempotency_key" value="{os.urandom(16).hex()}">')
        parts.extend(_hidden(key, value) for key, value in args.items())
        parts.append(button)
        return Markup("".join(parts))  # noqa: S704 (every part escaped)

    @pass_context
    def link(
        self,
        context: Mapping[str, Any],
        name: str,
        label: str,
        *,
        target: str | None = None,
        swap: str | None = None,
        link_class: str = "text-indigo-700 hover:underline",
        **args: object,
    ) -> Markup:
        """An `<a href>` to a query that htmx turns into a partial swap."""
        rf = self._get(name)
        url = rf.url(**args)
        pairs: dict[str, object] = {"href": url, "class": link_class, **self._hx(rf, url, target, swap)}
        return Markup("<a {}>{}</a>").format(_attrs(pairs), escape(label))


def register_template_helpers(engine: JinjaTemplateEngine, registry: Registry = REGISTRY) -> None:
    """Make `remote` and `get_flashes()` available in templates (TemplateConfig's engine_callback)."""
    engine.engine.globals["remote"] = RemoteHelpers(registry)
    engine.register_template_callable("get_flashes", flash.get_flashes)
