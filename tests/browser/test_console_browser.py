"""Expected refusals (422 invalid input, 429 rate limited) are swapped in quietly: no console error."""

from __future__ import annotations

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, ConsoleMessage, expect


def test_wrong_passwords_until_rate_limited_log_no_console_error(
    layout_server: RunningApp, layout_browser: Browser
) -> None:
    context = layout_browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    statuses: list[int] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium itself notes every 4xx fetch ("Failed to load resource"); only htmx's own logging counts.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("response", lambda response: statuses.append(response.status))
    page.goto(f"{layout_server.base_url}/auth/sign-in")
    alert = page.locator("#auth_sign_in [role=alert]")
    # Until the sign-in limit answers 429; each answer is swapped into the form (htmx, not a reload).
    for attempt in range(12):
        page.get_by_label("Email").fill("nobody-console@example.com")
        page.get_by_label("Password").fill(f"wrong password {attempt}")
        with page.expect_response(lambda r: r.url.endswith("/auth/sign-in") and r.request.method == "POST"):
            page.get_by_role("button", name="Sign in").click()
        expect(alert).to_be_visible()
        if 429 in statuses:
            break
    assert 422 in statuses and 429 in statuses, statuses
    assert errors == []
    context.close()
