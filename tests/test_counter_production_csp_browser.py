"""The Content-Security-Policy works with htmx and its SSE extension in Chromium: no violation anywhere."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from actors.connection import create_redis
from actors.counter import CounterActor
from tests.support.server import RunningApp, free_port, running_app

pytest.importorskip("playwright")
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.support import APP_NAME, chromium
from tests.browser.test_counter_live_browser import sign_up_verify_and_sign_in, wait_for_stream

pytestmark = [pytest.mark.browser]

SECRET = "3k0WNkY7y7ivRzRbfSm6xpqCHZ4eCXzOaV37TMjmYZ0"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@contextmanager
def serve(tmp_path: Path, production: bool) -> Iterator[RunningApp]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {"BASE_URL": origin}
    if production:
        # Enforced CSP and host checks; the browser still speaks plain HTTP to the loopback port.
        env = {
            "APP_ENV": "production",
            "AUTH_SECRET": SECRET,
            "BASE_URL": f"https://127.0.0.1:{port}",
            "TRUSTED_ORIGINS": origin,
        }
    with running_app(tmp_path / "data", env=env, port=port) as app:
        yield app


def csp_violations(page: Page) -> list[str]:
    seen: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


def increment_outside(app: RunningApp, counter_id: str) -> None:
    async def go() -> None:
        redis = create_redis(f"unix://{app.data_dir / 'redis' / 'redis.sock'}")
        try:
            await CounterActor(redis).increment(counter_id)
        finally:
            await redis.aclose()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)

    # Playwright's sync API keeps an event loop on this thread: run ours on another.
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and errors == []


def test_htmx_flow_raises_no_csp_report(tmp_path: Path, browser: Browser) -> None:
    """Development sends the policy report-only: a violation would still show in the console."""
    with serve(tmp_path, production=False) as app:
        context = browser.new_context()
        page = context.new_page()
        violations = csp_violations(page)
        counter = "/counter/csp-dev"
        sign_up_verify_and_sign_in(page, app, "ada@example.com", "Ada", counter)
        response = page.goto(f"{app.base_url}{counter}")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy-report-only"]
        wait_for_stream(page)
        for expected in ("1", "2"):
            page.locator("#counter").get_by_role("button", name="Increment").click()
            expect(page.locator("#counter [data-count]")).to_have_text(expected)
        page.get_by_role("link", name=APP_NAME).first.click()  # a boosted navigation
        expect(page).to_have_url(f"{app.base_url}/")
        context.close()
        assert violations == []


def test_enforced_csp_keeps_htmx_and_live_updates_working(tmp_path: Path, browser: Browser) -> None:
    with serve(tmp_path, production=True) as app:
        context = browser.new_context()
        page = context.new_page()
        violations = csp_violations(page)
        response = page.goto(f"{app.base_url}/counter/csp-prod")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert page.evaluate("typeof htmx") == "object"
        wait_for_stream(page)
        page.evaluate("window.__notReloaded = true")
        increment_outside(app, "csp-prod")
        expect(page.locator("#counter [data-count]")).to_have_text("1")
        assert page.evaluate("window.__notReloaded") is True
        context.close()
        assert violations == []
