"""Auth in a real browser (Chromium): htmx-enhanced forms, and the same flows with JavaScript off."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import PASSWORD, chromium, open_user_menu, served_app, verification_link


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-auth") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def sign_up_and_verify(page: Page, app: RunningApp, email: str, name: str) -> None:
    page.goto(f"{app.base_url}/auth/sign-up")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    # The link, opened in the browser that signed up, signs in; sign out to start the flows below.
    page.goto(verification_link(app, email))
    expect(page.locator("#user-menu summary")).to_contain_text(name)
    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()


def test_htmx_sign_up_sign_in_profile_and_sign_out(server: RunningApp, browser: Browser) -> None:
    page = browser.new_page()
    sign_up_and_verify(page, server, "ada@example.com", "Ada")

    page.goto(f"{server.base_url}/auth/sign-in")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    # The 422 answer is swapped into the form in place; the address typed stays.
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password.")
    expect(page.get_by_label("Email")).to_have_value("ada@example.com")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu summary")).to_contain_text("Ada")

    page.goto(f"{server.base_url}/account")
    page.get_by_label("Name").fill("")
    page.get_by_label("Name").fill("Ada <b>Lovelace</b>")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator("#account_profile")).to_contain_text("Ada <b>Lovelace</b>")

    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    page.close()


def test_forms_work_without_javascript(server: RunningApp, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_up_and_verify(page, server, "grace@example.com", "Grace")
    page.goto(f"{server.base_url}/account")
    expect(page).to_have_url(re.compile(r"/auth/sign-in\?next=/account$"))
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.base_url}/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    context.close()
