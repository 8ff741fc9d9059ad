"""Jinja helpers: one call renders htmx attributes and a real form, so calls work without JavaScript."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import msgspec
from jinja2 import pass_context
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.base import csrf_token
from markupsafe import Markup, escape

from web import flash
from web.remote.declare import REGISTRY, Registry
from web.remote.function import RemoteFunction
from web.remote.responses import safe_path

BUTTON_CLASS = (
    "rounded-md bg-indigo-600 px-3 py-1.5 font-medium text-white hover:bg-indigo-700 "
    "focus:outline-none focus:ring-2 focus:ring-indigo-500 focus:ring-offset-2 disabled:opacity-50"
)


def _attrs(pairs: Mapping[str, object]) -> Markup:
    # f-strings over escape() rather than Markup.format: same escaping, a fraction of the cost on
    # the hot path (every counter partial renders one of these forms). Names come from our code.
    return Markup(" ".join(f'{name}="{escape(value)}"' for name, value in pairs.items() if value is not None))  # noqa: S704 (escaped)


def _current_path(context: Mapping[str, Any]) -> str | None:
    """The page the user is looking at (inside an htmx swap, the page that asked for it)."""
    request = context.get("request")
    if not isinstance(request, Request):
        return None
    if request.headers.get("hx-request") == "true":
        return safe_path(request.headers.get("hx-current-url"), request)
    return safe_path(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""), request)


def _hidden(name: str, value: object) -> Markup:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return Markup(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">')  # noqa: S704 (escaped)


class RemoteHelpers:
    """The `remote` object templates see: `remote.url`, `remote.attrs`, `remote.button`, `remote.link`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

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
            pairs["hx-headers"] = Markup('{{"x-csrftoken": "{}"}}').format(token) if token else None
        if args:
            pairs["hx-vals"] = msgspec.json.encode(dict(args)).decode()
        pairs["hx-trigger"] = trigger
        return _attrs(pairs)

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
        url = rf.url(**path_args)
        hidden: list[Markup] = []
        form_attrs: dict[str, object] = {"method": rf.method.lower(), "action": url, "class": form_class}
        form_attrs.update(self._hx(rf, url, target, swap))
        if rf.method == "POST":
            token = csrf_token(context)
            if token:
                hidden.append(_hidden("_csrf_token", token))
            if next_path := _current_path(context):
                hidden.append(_hidden("next", next_path))
            # One key per rendered button: a double submit or a retried request applies once.
            hidden.append(_hidden("_idempotency_key", os.urandom(16).hex()))
            form_attrs["hx-disabled-elt"] = "find button"
        hidden.extend(_hidden(key, value) for key, value in args.items())
        button = f'<button type="submit" class="{escape(button_class)}">{escape(label)}</button>'
        return Markup(f"<form {_attrs(form_attrs)}>{''.join(hidden)}{button}</form>")  # noqa: S704 (parts escaped)

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
