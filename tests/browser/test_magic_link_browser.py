"""Sign-in links in Chromium: ask with htmx, follow the link, confirm in another browser, JS off too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

from tests.browser.layout import new_link_mailed
from tests.browser.support import chromium, open_user_menu, served_app
from tests.browser.test_auth_browser import sign_up_and_verify

EMAIL = "ada@example.com"
SENT = "we sent it a sign-in link"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-magic-link") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def sign_in_link(app: RunningApp, number: int) -> str:
    """The `number`th sign-in link mailed to EMAIL (waits for the outbox to deliver it)."""
    return new_link_mailed(app, EMAIL, "/auth/magic-link", number - 1)


def ask_for_link(page: Page, app: RunningApp) -> None:
    page.goto(f"{app.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Email me a sign-in link").click()


def sign_out(page: Page) -> None:
    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()


def test_sign_in_with_a_mailed_link(server: RunningApp, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_up_and_verify(page, server, EMAIL, "Ada")

    # With JavaScript the answer is swapped into the form: the address typed stays, no password asked.
    ask_for_link(page, server)
    expect(page.locator("#auth_sign_in")).to_contain_text(SENT)
    expect(page.get_by_label("Email")).to_have_value(EMAIL)
    link = sign_in_link(server, 1)
    page.goto(link)
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")
    sign_out(page)
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("invalid or has expired")

    # Opened in another browser, the link asks first; pressing the button signs that browser in.
    ask_for_link(page, server)
    expect(page.locator("#auth_sign_in")).to_contain_text(SENT)
    other = browser.new_context()
    phone = other.new_page()
    phone.goto(sign_in_link(server, 2))
    expect(phone.get_by_role("heading", name="Sign in on this device?")).to_be_visible()
    expect(phone.locator("#user-menu")).to_have_count(0)
    phone.get_by_role("button", name="Sign in on this device").click()
    expect(phone.locator("#user-menu summary")).to_contain_text("Ada")
    other.close()
    context.close()

    # JavaScript off: the same button posts the form and comes back to the sign-in page.
    plain = browser.new_context(java_script_enabled=False)
    page = plain.new_page()
    ask_for_link(page, server)
    expect(page).to_have_url(f"{server.base_url}/auth/sign-in")
    expect(page.get_by_text(SENT)).to_be_visible()
    page.goto(sign_in_link(server, 3))
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")
    plain.close()
