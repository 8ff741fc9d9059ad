"""The OpenAPI schema at /schema and its docs UI: vendored Swagger UI, no CDN, no inline script."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

SWAGGER_UI_VERSION = "5.35.0"
VENDOR = "/static/vendor"
DESCRIPTION = (
    "Every route of the app. Remote functions (tag `remote`) answer JSON to `Accept: application/json` "
    "(and to clients that do not ask for HTML), an htmx partial to `HX-Request`, and a page or a "
    "303 redirect to plain browser forms. Auth and account routes take form posts and answer pages. "
    "State-changing calls need the CSRF token: the `csrftoken` cookie echoed as `X-CSRFToken`."
)


class SwaggerUIPlugin(OpenAPIRenderPlugin):
    """Swagger UI from /static, started by /static/api-docs.js: no CDN, no inline script (CSP `'self'`)."""

    def __init__(self, path: str | list[str] = "/") -> None:
        super().__init__(path=path, favicon='<link rel="icon" href="/favicon.ico">', style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec_url = escape(self.get_openapi_json_route(request), quote=True)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  {self.favicon}
  <link rel="stylesheet" href="{VENDOR}/swagger-ui-{SWAGGER_UI_VERSION}.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec_url}"></div>
  <script src="{VENDOR}/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
""".encode()


def openapi_config() -> OpenAPIConfig:
    """/schema (the docs UI), /schema/swagger (the same) and /schema/openapi.json."""
    return OpenAPIConfig(
        title="API reference",
        version="1.0.0",
        description=DESCRIPTION,
        use_handler_docstrings=True,
        render_plugins=[SwaggerUIPlugin(path=["/", "/swagger"]), JsonRenderPlugin()],
    )
