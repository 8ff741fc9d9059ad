"""The counter's "reset at" alarm in Chromium: scheduled from the page, seen live when it fires."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect

from tests.browser.support import chromium, served_app
from tests.browser.test_counter_live_browser import new_context, sign_up_verify_and_sign_in, wait_for_stream

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-reset") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def test_a_scheduled_reset_shows_live_on_every_page(server: RunningApp, browser: Browser) -> None:
    counter_path = "/counter/browser-reset"
    owner = new_context(browser)
    page = owner.new_page()
    sign_up_verify_and_sign_in(page, server, "ada@example.com", "Ada", counter_path)
    for expected in ("1", "2"):
        page.locator("#counter").get_by_role("button", name="Increment").click()
        expect(page.locator("#counter [data-count]")).to_have_text(expected)
    watcher = new_context(browser)
    other = watcher.new_page()
    other.goto(f"{server.base_url}{counter_path}")
    expect(other.locator("#counter [data-count]")).to_have_text("2")
    wait_for_stream(other)
    wait_for_stream(page)

    form = page.locator("[data-reset-form]")
    form.get_by_label("Reset in").fill("2")
    form.get_by_role("button", name="Schedule reset").click()
    # The alarm fires about 2 s later; both pages follow it over their live streams, without a reload.
    expect(page.locator("#counter [data-count]")).to_have_text("0", timeout=15_000)
    expect(other.locator("#counter [data-count]")).to_have_text("0", timeout=15_000)
    assert page.url == f"{server.base_url}{counter_path}"
    owner.close()
    watcher.close()
