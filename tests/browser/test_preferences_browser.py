"""Single-flight updates and live preferences in Chromium: header rename, theme across tabs, no SSE echo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import ROOT, RunningApp
from tests.support.signin import signed_in

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.support import chromium, served_app

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
# Set on the window after load: still there later means the page was never reloaded.
MARK = "() => { window.__sameDocument = true; }"
SAME_DOCUMENT = "() => window.__sameDocument === true"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-preferences") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def signed_in_context(browser: Browser, server: RunningApp, email: str, name: str) -> BrowserContext:
    """A browser context holding the session of a freshly signed-up, verified user."""
    client = signed_in(server.base_url, server.data_dir, email, name=name)
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": server.base_url} for c in client.cookies.jar]
    )
    client.close()
    return context


def wait_for_stream(page: Page, selector: str) -> None:
    """The EventSource of the element at `selector` is open (htmx's SSE extension keeps it there)."""
    page.wait_for_function(
        "(selector) => { const data = document.querySelector(selector)?.['htmx-internal-data'];"
        " return !!(data && data.sseEventSource && data.sseEventSource.readyState === 1); }",
        arg=selector,
        timeout=10_000,
    )


def test_profile_rename_updates_the_header_without_reload(server: RunningApp, browser: Browser) -> None:
    context = signed_in_context(browser, server, "ada-rename@example.com", "Ada")
    page = context.new_page()
    page.goto(f"{server.base_url}/account")
    expect(page.locator("#header_user")).to_have_text("Ada")
    page.evaluate(MARK)
    page.locator("#account_profile").get_by_label("Name").fill("Ada Lovelace")
    page.locator("#account_profile").get_by_role("button", name="Save profile").click()
    expect(page.locator("#header_user")).to_have_text("Ada Lovelace")
    expect(page.locator("#account_profile")).to_contain_text("Ada Lovelace")
    assert page.evaluate(SAME_DOCUMENT)
    context.close()


def test_theme_change_in_one_tab_shows_in_another_without_reload(
    server: RunningApp, browser: Browser
) -> None:
    context = signed_in_context(browser, server, "grace-theme@example.com", "Grace")
    other_tab = context.new_page()
    other_tab.emulate_media(color_scheme="light")
    other_tab.goto(server.base_url)
    wait_for_stream(other_tab, "#preferences_live")
    other_tab.evaluate(MARK)
    light_background = other_tab.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert other_tab.locator("html").get_attribute("data-theme") is None

    tab = context.new_page()
    tab.goto(f"{server.base_url}/account")
    preferences = tab.locator("#account_preferences")
    preferences.get_by_label("Dark").check()
    preferences.get_by_role("button", name="Save preferences").click()
    expect(tab.locator("html")).to_have_attribute("data-theme", "dark")

    # The other tab follows: the user's choice beats the system's light scheme, with no reload.
    expect(other_tab.locator("html")).to_have_attribute("data-theme", "dark")
    dark_background = other_tab.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert dark_background != light_background
    assert other_tab.evaluate(SAME_DOCUMENT)
    ARTIFACTS.mkdir(exist_ok=True)
    other_tab.screenshot(path=str(ARTIFACTS / "dark-mode.png"), full_page=True)
    tab.screenshot(path=str(ARTIFACTS / "dark-mode-account.png"), full_page=True)

    # And back to the system's scheme: the attribute goes, in both tabs.
    tab.locator("#account_preferences").get_by_label("System").check()
    tab.locator("#account_preferences").get_by_role("button", name="Save preferences").click()
    expect(other_tab.locator("html")).not_to_have_attribute("data-theme", "dark")
    assert other_tab.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_background
    context.close()
