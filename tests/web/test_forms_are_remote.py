"""One mechanism for forms: every unsafe route is a remote function, and no second toolkit remains."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher
from tests.web.auth_support import HTMX, auth_of, csrf_token
from web.remote import REGISTRY
from web.remote.openapi import RemoteRouteHandler

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
JSON = {"Accept": "application/json"}
WEB = Path(__file__).resolve().parents[2] / "web"


def test_every_unsafe_route_is_a_remote_function(app: Litestar) -> None:
    declared = {rf.name for rf in REGISTRY}
    unsafe = []
    for route in app.routes:
        # Mounted ASGI apps (/admin/ is piccolo-admin) are not HTTPRoutes: their forms are their own.
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods & UNSAFE:
                unsafe.append((method, route.path))
                assert isinstance(handler, RemoteRouteHandler), (method, route.path, handler.handler_name)
                assert handler.name in declared, (method, route.path)
    paths = {path for _, path in unsafe}
    assert {"/auth/sign-in", "/auth/sign-out", "/account/profile", "/admin-tools/actors/reset"} <= paths


def test_the_auth_form_toolkit_is_gone() -> None:
    assert importlib.util.find_spec("web.auth.forms") is None


def test_one_open_redirect_check() -> None:
    """`safe_next` in web/security.py decides every same-origin `next`; nothing else re-implements it."""
    defined: dict[str, list[str]] = {}
    for path in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in {
                "safe_next",
                "safe_path",
                "next_path",
            }:
                defined.setdefault(node.name, []).append(str(path.relative_to(WEB)))
    assert defined == {"safe_next": ["security.py"]}


def test_no_hand_built_htmx_redirect_headers() -> None:
    """Redirects for htmx come from litestar.plugins.htmx (ClientRedirect), not literal headers."""
    for path in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value.lower() not in {"hx-redirect", "hx-location"}, path


def test_password_forms_are_refused_before_parsing_when_argon2_is_saturated(
    client: TestClient[Litestar],
) -> None:
    """A full hashing queue answers 503 at once, even for a form that would fail its own checks."""
    token = csrf_token(client)
    auth_of(client).hasher = PasswordHasher(OWASP_MINIMUM, max_waiting=0)
    for headers, kind in (({}, "text/html"), (HTMX, "text/html"), (JSON, "application/json")):
        answer = client.post(
            "/auth/sign-in", data={"email": "", "password": "", "_csrf_token": token}, headers=headers
        )
        assert answer.status_code == 503 and answer.headers["content-type"].startswith(kind)
        assert "busy checking passwords" in answer.text
    auth_of(client).hasher = PasswordHasher(OWASP_MINIMUM)
    answer = client.post(
        "/auth/sign-in", data={"email": "", "password": "", "_csrf_token": token}, headers=JSON
    )
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"email", "password"}
