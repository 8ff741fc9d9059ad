"""Organizations in Chromium, with JavaScript and without: create, invite, accept, switch from the header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.layout import Cookies, context_with, new_link_mailed, session_cookies
from tests.browser.support import chromium, served_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-orgs") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def create(page: Page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/orgs")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("[data-my-role]")).to_have_text("owner")


def switch_from_header(page: Page, name: str) -> None:
    page.locator("[data-user-menu]").click()
    page.locator("[data-org-menu]").get_by_role("button", name=name).click()
    expect(page.locator("[data-active-org]")).to_have_count(1)
    expect(page.locator("[data-active-org]")).to_contain_text(name)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_create_invite_accept_and_switch(server: RunningApp, browser: Browser, javascript: bool) -> None:
    tag = "js" if javascript else "nojs"
    owner_cookies: Cookies = session_cookies(server, f"owner-{tag}@example.com", "Olive Owner")
    guest_email = f"guest-{tag}@example.com"
    guest_cookies: Cookies = session_cookies(server, guest_email, "Gus Guest")
    owner: BrowserContext = context_with(browser, owner_cookies, java_script_enabled=javascript)
    guest: BrowserContext = context_with(browser, guest_cookies, java_script_enabled=javascript)
    page = owner.new_page()
    create(page, server.base_url, f"Alpha {tag}")
    create(page, server.base_url, f"Beta {tag}")

    page.get_by_label("Email").fill(guest_email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(f'[data-invitation="{guest_email}"]')).to_be_visible()
    link = new_link_mailed(server, guest_email, "/invitations/accept", 0)

    guest_page = guest.new_page()
    guest_page.goto(link)
    expect(guest_page.get_by_role("heading", level=1)).to_have_text(f"Join Beta {tag}")
    guest_page.get_by_role("button", name="Accept invitation").click()
    expect(guest_page.locator("[data-my-role]")).to_have_text("member")
    expect(guest_page.locator("[data-active-org]")).to_contain_text(f"Beta {tag}")

    page.reload()
    expect(page.locator(f'[data-member="{guest_email}"]')).to_be_visible()
    # The header's switcher comes back to the page it was used on, now in the other organization.
    page.goto(f"{server.base_url}/account")
    expect(page.locator("[data-active-org]")).to_contain_text(f"Beta {tag}")
    switch_from_header(page, f"Alpha {tag}")
    assert page.url.endswith("/account")
    owner.close()
    guest.close()
