"""An organization's counters in Chromium: switched to from the header, live for every member, usage chart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

from tests.browser.layout import context_with, new_link_mailed, session_cookies
from tests.browser.support import chromium, served_app
from tests.browser.test_orgs_browser import create, switch_from_header

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-org-counters") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def new_counter(page: Page, name: str) -> None:
    page.get_by_label("New counter").fill(name)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_switching_shows_the_orgs_counters_live_and_its_usage_chart(
    server: RunningApp, browser: Browser
) -> None:
    owner = context_with(browser, session_cookies(server, "cora@example.com", "Cora Owner"))
    mate_email = "milo@example.com"
    mate = context_with(browser, session_cookies(server, mate_email, "Milo Mate"))
    page = owner.new_page()
    create(page, server.base_url, "Solo Team")
    new_counter(page, "solo")
    create(page, server.base_url, "Shared Team")
    new_counter(page, "visits")
    page.get_by_role("button", name="Increment").click()
    expect(page.locator("#counter_value [data-count]")).to_have_text("1")
    page.goto(f"{server.base_url}/orgs/shared-team")
    page.get_by_label("Email").fill(mate_email)
    page.get_by_role("button", name="Send invitation").click()
    link = new_link_mailed(server, mate_email, "/invitations/accept", 0)
    mate_page = mate.new_page()
    mate_page.goto(link)
    mate_page.get_by_role("button", name="Accept invitation").click()
    expect(mate_page.locator("[data-my-role]")).to_have_text("member")

    # Switched from the header on an organization's page: the other organization's page and counters.
    switch_from_header(page, "Solo Team")
    expect(page.get_by_role("heading", level=1)).to_have_text("Solo Team")
    expect(page.locator('[data-counter="solo"]')).to_be_visible()
    expect(page.locator('[data-counter="visits"]')).to_have_count(0)
    switch_from_header(page, "Shared Team")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared Team")
    expect(page.locator("[data-total]")).to_have_text("1")

    # Another member increments in their browser: the list and total change live on this page, and
    # the counter's own page follows too.
    mate_page.goto(f"{server.base_url}/orgs/shared-team/counters/visits")
    mate_page.get_by_role("button", name="Increment").click()
    expect(mate_page.locator("#counter_value [data-count]")).to_have_text("2")
    expect(page.locator('[data-counter="visits"] [data-count]')).to_have_text("2")
    expect(page.locator("[data-total]")).to_have_text("2")
    page.goto(f"{server.base_url}/orgs/shared-team/counters/visits")
    expect(page.locator("#counter_value [data-count]")).to_have_text("2")
    mate_page.get_by_role("button", name="Decrement").click()
    expect(page.locator("#counter_value [data-count]")).to_have_text("1")

    # Usage: a bar per day for 30 days, today's counting the create and the three changes.
    page.goto(f"{server.base_url}/orgs/shared-team/usage")
    bars = page.locator("figure.usage-chart svg rect[data-value]")
    expect(bars).to_have_count(30)
    expect(bars.last).to_have_attribute("data-value", "4")
    expect(page.locator(f'[data-member="{mate_email}"] [data-count]')).to_have_text("2")
    owner.close()
    mate.close()
