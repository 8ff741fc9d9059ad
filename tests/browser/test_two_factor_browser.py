"""Two-factor in Chromium: enrol on the account page, then sign in with a code, JavaScript on and off."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.support import PASSWORD, chromium, open_user_menu, served_app
from tests.browser.test_auth_browser import sign_up_and_verify

EMAIL = "ada@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-two-factor") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def session_cookies(context: BrowserContext) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"] in {"session", "__Host-session"}]


def password_step(page: Page, app: RunningApp) -> None:
    page.goto(f"{app.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{app.base_url}/auth/two-factor")
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app")).to_be_visible()
    assert not session_cookies(page.context)


def test_enrol_then_sign_in_with_a_code(server: RunningApp, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_up_and_verify(page, server, EMAIL, "Ada")
    page.goto(f"{server.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")

    page.goto(f"{server.base_url}/account")
    card = page.locator("#account_two_factor")
    expect(card).to_contain_text("Two-factor sign-in is off")
    card.get_by_role("button", name="Set up an authenticator app").click()
    expect(card.locator("[data-qr] svg")).to_be_visible()
    app = pyotp.TOTP(card.locator("[data-manual-key]").inner_text().replace(" ", ""))
    card.get_by_label("6-digit code from the app").fill(app.now())
    card.get_by_role("button", name="Turn on two-factor").click()
    expect(card.locator("[data-backup-codes] li")).to_have_count(10)
    backup = card.locator("[data-backup-codes] li").first.inner_text()
    expect(card).to_contain_text("Two-factor sign-in is on")

    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()

    password_step(page, server)
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    assert not session_cookies(context)
    # The enrolment used this 30-second step; the next one is accepted already (one step either side).
    page.get_by_label("Code").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")
    assert session_cookies(context)
    context.close()

    # JavaScript off: plain form posts and redirects, with a backup code this time.
    plain = browser.new_context(java_script_enabled=False)
    page = plain.new_page()
    password_step(page, server)
    page.get_by_label("Code").fill(backup)
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{server.base_url}/")
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")
    assert session_cookies(plain)
    plain.close()
