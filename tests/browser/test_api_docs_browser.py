"""/schema in Chromium under the production CSP: the vendored docs UI renders, with no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port, running_app

pytest.importorskip("playwright")
from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.browser.support import chromium

pytestmark = pytest.mark.browser

SECRET = "Yx2pQ7vN0cLw8RfT3kZmA9sJ4dHbE6uG1oWiK5tCnVq"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def test_schema_docs_render_under_the_production_csp(tmp_path: Path, browser: Browser) -> None:
    port = free_port()
    env = {
        "APP_ENV": "production",
        "AUTH_SECRET": SECRET,
        "BASE_URL": f"https://127.0.0.1:{port}",
        "TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
    }
    with running_app(tmp_path / "data", env=env, port=port) as app:
        context = browser.new_context()
        page = context.new_page()
        problems: list[str] = []

        def record(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                problems.append(message.text)

        page.on("console", record)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(app.base_url) else outside.append(r.url))
        response = page.goto(f"{app.base_url}/schema")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=20_000)
        expect(page.locator(".opblock-summary-path", has_text="/healthz").first).to_be_visible()
        expect(page.locator(".opblock-summary-path", has_text="/auth/sign-up").first).to_be_visible()
        assert problems == []
        assert outside == [], "the docs UI loads nothing from outside the app"
        context.close()
