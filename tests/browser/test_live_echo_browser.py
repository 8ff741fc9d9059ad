"""The saving tab skips its own SSE echo: two tabs of one user, one saves its preferences."""

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


def test_the_saving_tab_skips_its_own_sse_echo(server: RunningApp, browser: Browser) -> None:
    context = signed_in_context(browser, server, "echo@example.com", "Echo")
    saver, watcher = context.new_page(), context.new_page()
    saver.goto(f"{server.base_url}/account")
    watcher.goto(f"{server.base_url}/")
    for page in (saver, watcher):
        wait_for_stream(page, "#preferences_live")
        page.evaluate(RECORD)
    preferences = saver.locator("#account_preferences")
    preferences.get_by_label("Dark").check()
    preferences.get_by_role("button", name="Save preferences").click()
    for page in (saver, watcher):
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.wait_for_function("() => window.__sse.some((m) => m.id === '1')", timeout=10_000)
    # The tab whose save answered with version 1 already shows it; the other one applies it.
    assert saver.evaluate("() => window.__sse.find((m) => m.id === '1').skipped") is True
    assert watcher.evaluate("() => window.__sse.find((m) => m.id === '1').skipped") is False
    context.close()
