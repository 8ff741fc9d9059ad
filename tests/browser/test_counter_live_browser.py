"""The live counter in Chromium: sign up to increment, live updates across browsers, the same without JS."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator

import pytest

from actors.connection import create_redis
from actors.counter import CounterActor
from tests.support.server import ROOT, RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.support import APP_NAME, PASSWORD, chromium, open_user_menu, served_app, verification_link

pytestmark = [pytest.mark.browser]

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-live") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up_verify_and_sign_in(page: Page, app: RunningApp, email: str, name: str, next_path: str) -> None:
    """From the counter's sign-in prompt: create the account, confirm it by mail, sign in, come back."""
    page.goto(f"{app.base_url}{next_path}")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    # The link, opened in the browser that signed up, signs in: sign out to come back the long way.
    page.goto(verification_link(app, email))
    expect(page.locator("#user-menu summary")).to_contain_text(name)
    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(f"{app.base_url}{next_path}")
    page.locator("[data-sign-in-prompt]").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{app.base_url}{next_path}")
    expect(page.locator("#user-menu summary")).to_contain_text(name)


def wait_for_stream(page: Page) -> None:
    """The page's EventSource is open (htmx's SSE extension fires htmx:sseOpen on the connect element)."""
    page.wait_for_function(
        "() => { const el = document.querySelector('#counter_live');"
        " const src = el && htmx.closest(el, '[sse-connect]') && el['htmx-internal-data'];"
        " return !!(src && src.sseEventSource && src.sseEventSource.readyState === 1); }",
        timeout=10_000,
    )


def increment_outside(app: RunningApp, counter_id: str) -> None:
    async def go() -> None:
        redis = create_redis(f"unix://{app.data_dir / 'redis' / 'redis.sock'}")
        try:
            await CounterActor(redis).increment(counter_id)
        finally:
            await redis.aclose()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)

    # Playwright's sync API keeps an event loop on this thread: run ours on another.
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and errors == []


def new_context(browser: Browser, **kwargs: object) -> BrowserContext:
    return browser.new_context(viewport=PHONE if kwargs.pop("phone", False) else None, **kwargs)  # type: ignore[arg-type]


def test_home_page_shows_the_demo_and_the_way_in(server: RunningApp, browser: Browser) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(server.base_url)
    expect(page.get_by_role("heading", name=APP_NAME, level=1)).to_be_visible()
    expect(page.locator("#counter [data-count]")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("[data-sign-in-prompt]")).to_be_visible()
    expect(page.locator("#counter").get_by_role("button", name="Increment")).to_have_count(0)
    wait_for_stream(page)
    screenshot(page, "home")
    context.close()


def test_sign_up_increment_and_see_it_live_in_another_browser(server: RunningApp, browser: Browser) -> None:
    counter_path = "/counter/browser-live"
    alice = new_context(browser)
    page = alice.new_page()
    sign_up_verify_and_sign_in(page, server, "ada@example.com", "Ada", counter_path)
    expect(page.locator("#counter [data-count]")).to_have_text("0")
    screenshot(page, "counter-signed-in")

    # A signed-out visitor on a phone watches the same counter.
    watcher = new_context(browser, phone=True)
    other = watcher.new_page()
    other.goto(f"{server.base_url}{counter_path}")
    expect(other.locator("[data-sign-in-prompt]")).to_be_visible()
    wait_for_stream(other)
    other.evaluate("window.__notReloaded = true")

    increment = page.locator("#counter").get_by_role("button", name="Increment")
    increment.click()
    expect(page.locator("#counter [data-count]")).to_have_text("1")
    expect(other.locator("#counter [data-count]")).to_have_text("1")
    for expected in ("2", "3"):
        page.locator("#counter").get_by_role("button", name="Increment").click()
        expect(page.locator("#counter [data-count]")).to_have_text(expected)
    expect(other.locator("#counter [data-count]")).to_have_text("3")
    assert other.evaluate("window.__notReloaded") is True  # updated in place, not reloaded
    assert page.url == f"{server.base_url}{counter_path}"  # the htmx increments left the address alone
    screenshot(other, "counter-live-phone")

    # And the other way round: the signed-in page follows changes made elsewhere too.
    third = alice.new_page()
    third.goto(f"{server.base_url}{counter_path}")
    wait_for_stream(page)
    third.locator("#counter").get_by_role("button", name="Increment").click()
    expect(page.locator("#counter [data-count]")).to_have_text("4")
    expect(other.locator("#counter [data-count]")).to_have_text("4")

    # Boosted navigation keeps history right: home, then back to the counter.
    page.get_by_role("link", name=APP_NAME).first.click()
    expect(page).to_have_url(f"{server.base_url}/")
    page.go_back()
    expect(page).to_have_url(f"{server.base_url}{counter_path}")
    expect(page.locator("#counter [data-count]")).to_have_text("4")
    alice.close()
    watcher.close()


def test_the_whole_flow_without_javascript(server: RunningApp, browser: Browser) -> None:
    counter_path = "/counter/no-js"
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.base_url}{counter_path}")
    # Without a session the form post is answered with the sign-in page and the reason.
    expect(page.locator("[data-sign-in-prompt]")).to_be_visible()
    sign_up_verify_and_sign_in(page, server, "grace@example.com", "Grace", counter_path)
    for expected in ("1", "2"):
        page.locator("#counter").get_by_role("button", name="Increment").click()
        # post/redirect/get: back on the counter page, reloaded with the new count
        expect(page).to_have_url(f"{server.base_url}{counter_path}")
        expect(page.locator("#counter [data-count]")).to_have_text(expected)
    screenshot(page, "counter-no-js")
    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    context.close()


def test_error_pages_use_the_layout(server: RunningApp, browser: Browser) -> None:
    context = new_context(browser)
    page = context.new_page()
    response = page.goto(f"{server.base_url}/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text("Error 404")).to_be_visible()
    screenshot(page, "error-404")
    context.close()


def test_live_updates_keep_arriving_after_htmx_increments(server: RunningApp, browser: Browser) -> None:
    """Increments swap the whole #counter section; the SSE listener must survive those swaps."""
    context = new_context(browser)
    page = context.new_page()
    counter = "/counter/after-swaps"
    sign_up_verify_and_sign_in(page, server, "hedy@example.com", "Hedy", counter)
    page.goto(f"{server.base_url}{counter}")
    wait_for_stream(page)
    for expected in ("1", "2"):
        page.locator("#counter").get_by_role("button", name="Increment").click()
        expect(page.locator("#counter [data-count]")).to_have_text(expected)
    for expected in ("3", "4"):
        increment_outside(server, "after-swaps")
        expect(page.locator("#counter [data-count]")).to_have_text(expected)
    context.close()
