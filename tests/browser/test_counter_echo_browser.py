"""The clicking tab skips its own SSE echo: two tabs on the counter demo's page, one clicks."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_preferences_browser import browser, server, signed_in_context, wait_for_stream
from tests.support.server import RunningApp

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]  # the fixtures, shared with test_preferences_browser.py


RECORD = (
    "() => { window.__sse = []; document.addEventListener('htmx:sseBeforeMessage', (e) =>"
    " window.__sse.push({id: e.detail.lastEventId, skipped: e.defaultPrevented})); }"
)


def test_the_clicking_tab_skips_its_own_sse_echo(server: RunningApp, browser: Browser) -> None:
    clicker = signed_in_context(browser, server, "echo@example.com", "Echo")
    watcher = browser.new_context()
    pages = [clicker.new_page(), watcher.new_page()]
    for page in pages:
        page.goto(f"{server.base_url}/counter/echo")
        wait_for_stream(page, "#counter_live")
        page.evaluate(RECORD)
    pages[0].locator("#counter").get_by_role("button", name="Increment").click()
    for page in pages:
        expect(page.locator("#counter [data-count]")).to_have_text("1")
        page.wait_for_function("() => window.__sse.some((m) => m.id === '1')", timeout=10_000)
    # The tab whose command answered with version 1 already shows it; the other one applies it.
    assert pages[0].evaluate("() => window.__sse.find((m) => m.id === '1').skipped") is True
    assert pages[1].evaluate("() => window.__sse.find((m) => m.id === '1').skipped") is False
    clicker.close()
    watcher.close()
