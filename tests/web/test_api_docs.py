"""The OpenAPI schema documents every route, and its docs page needs nothing from outside the app."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

Client = TestClient[Litestar]
# Not API: static files, piccolo-admin's own mount, the favicon.
UNDOCUMENTED = re.compile(r"^/(static|admin)(/|$)|^/favicon\.ico$|^/schema")


def test_schema_page_loads_only_the_apps_own_files(client: Client) -> None:
    response = client.get("/schema")
    assert response.status_code == 200
    html = response.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and "http://" not in html and "https://" not in html
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


def test_schema_documents_every_route(app: Litestar, client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    missing = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or UNDOCUMENTED.search(route.path):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods:
            if method not in {"OPTIONS", "HEAD"} and (method, path) not in documented:
                missing.append(f"{method} {path}")
    assert missing == []
    assert {("GET", "/healthz"), ("POST", "/auth/sign-up")} <= documented
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("description"), f"{method.upper()} {path} is not described"


def test_favicon_is_an_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/")
    assert response.content[:4] == b"\x00\x00\x01\x00"
