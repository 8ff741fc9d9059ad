"""The layout in Chromium: user menu, busy buttons, dark mode, the mail viewer, desktop and phone."""

from __future__ import annotations

import re
from typing import Literal

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect

from tests.browser.layout import (
    DESKTOP,
    PHONE,
    Cookies,
    context_with,
    screenshot,
    session_cookies,
)
from tests.browser.support import PASSWORD, feature_pages, open_user_menu, verification_link

pytestmark = pytest.mark.browser
Scheme = Literal["light", "dark"]


def test_user_menu_holds_account_and_sign_out_but_no_admin_link(
    layout_server: RunningApp, layout_browser: Browser
) -> None:
    context = context_with(layout_browser, session_cookies(layout_server, "menu@example.com", "Mina Ortiz"))
    page = context.new_page()
    page.goto(layout_server.base_url)
    summary = page.locator("#user-menu summary")
    expect(summary).to_contain_text("MO")  # initials stand in for a missing avatar
    expect(summary).to_contain_text("Mina Ortiz")
    account = page.locator("#user-menu").get_by_role("link", name="Account")
    expect(account).to_be_hidden()
    menu = open_user_menu(page)
    expect(menu).to_contain_text("menu@example.com")
    expect(account).to_be_visible()
    expect(menu.get_by_role("link", name="Admin")).to_have_count(0)
    account.click()
    expect(page).to_have_url(f"{layout_server.base_url}/account")
    open_user_menu(page).get_by_role("button", name="Sign out").click()
    expect(page.locator("#user-menu")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    context.close()


def test_user_menu_works_without_javascript(layout_server: RunningApp, layout_browser: Browser) -> None:
    cookies = session_cookies(layout_server, "nojs@example.com", "Noor")
    context = context_with(layout_browser, cookies, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{layout_server.base_url}/account")
    open_user_menu(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    context.close()


def test_user_menu_offers_admin_to_admins(
    layout_server: RunningApp, layout_browser: Browser, admin: Cookies
) -> None:
    context = context_with(layout_browser, admin)
    page = context.new_page()
    page.goto(layout_server.base_url)
    open_user_menu(page).get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/"))
    expect(page.get_by_role("link", name=re.compile("^users$", re.I)).first).to_be_visible(timeout=20_000)
    context.close()


def test_submit_button_is_busy_while_sign_up_is_in_flight(
    layout_server: RunningApp, layout_browser: Browser
) -> None:
    context = layout_browser.new_context()
    page = context.new_page()
    page.goto(f"{layout_server.base_url}/auth/sign-up")
    button = page.get_by_role("button", name="Create account")
    spinner = button.locator("[data-spinner]")
    expect(spinner).to_be_hidden()
    seen: list[tuple[bool, str]] = []

    def look_then_send(route: Route) -> None:
        # The request is on its way out: what the person sees now is the in-flight state.
        disabled, display = page.evaluate(
            "() => { const b = document.querySelector('#auth_sign_up button[type=submit]');"
            " return [b.disabled, getComputedStyle(b.querySelector('[data-spinner]')).display]; }"
        )
        seen.append((disabled, display))
        screenshot(page, "sign-up-busy")
        route.continue_()

    page.route("**/auth/sign-up", look_then_send)
    page.get_by_label("Name").fill("Busy Bee")
    page.get_by_label("Email").fill("busy@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    button.click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    assert len(seen) == 1
    disabled, spinner_display = seen[0]
    assert disabled is True and spinner_display != "none"
    context.close()


def body_lightness(page: Page) -> float:
    """The OKLCH lightness (0 to 1) of the page background as the browser computed it."""
    color = page.evaluate("getComputedStyle(document.body).backgroundColor")
    match = re.match(r"oklch\(([\d.]+)", color)
    assert match, color
    return float(match.group(1))


@pytest.mark.parametrize("path", ["/", "/auth/sign-in"])
def test_dark_mode_follows_the_system_preference(
    layout_server: RunningApp, layout_browser: Browser, path: str
) -> None:
    schemes: list[tuple[Scheme, bool]] = [("light", False), ("dark", True)]
    for scheme, dark in schemes:
        context = layout_browser.new_context(color_scheme=scheme, viewport=DESKTOP)
        page = context.new_page()
        page.goto(f"{layout_server.base_url}{path}")
        lightness = body_lightness(page)
        assert (lightness < 0.3) if dark else (lightness > 0.9), (scheme, lightness)
        heading = page.get_by_role("heading", level=1)
        heading_color = heading.evaluate("el => getComputedStyle(el).color")
        assert heading_color != page.evaluate("getComputedStyle(document.body).backgroundColor")
        screenshot(page, f"{scheme}{path.replace('/', '-') or '-home'}")
        context.close()


def test_mail_page_shows_the_html_mail_and_its_button_signs_in_here(
    layout_server: RunningApp, layout_browser: Browser
) -> None:
    context = layout_browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{layout_server.base_url}/auth/sign-up")
    page.get_by_label("Name").fill("Mae")
    page.get_by_label("Email").fill("mae@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    # The mail leaves through the outbox after the answer: wait until it is in the dev mailbox.
    verification_link(layout_server, "mae@example.com")
    page.goto(f"{layout_server.base_url}/dev/mail")
    page.locator("main ul li").filter(has_text="mae@example.com").get_by_role("link").first.click()
    frame = page.frame_locator("[data-mail-html]")
    button = frame.get_by_role("link", name="Confirm your email address")
    expect(button).to_be_visible()
    screenshot(page, "dev-mail")
    button.click()  # the frame's links open in the page around it
    # The browser that signed up is signed in by the link.
    expect(page.locator("#user-menu summary")).to_contain_text("Mae")
    context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_and_no_sideways_scrolling(
    layout_server: RunningApp,
    layout_browser: Browser,
    member: Cookies,
    admin: Cookies,
    size: str,
    viewport: ViewportSize,
) -> None:
    """Every page fits the width (no horizontal scroll), admin panel included; screenshots for a look."""
    context = context_with(layout_browser, member, viewport=viewport)
    page = context.new_page()
    paths = ["/", "/account", "/auth/sign-in", "/dev/mail"] + [url for _, url in feature_pages()]
    for path in paths:
        page.goto(layout_server.base_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
        screenshot(page, f"{size}{path.replace('/', '-').rstrip('-') or '-home'}")
    open_user_menu(page)
    screenshot(page, f"{size}-menu-open")
    context.close()
    anonymous = layout_browser.new_context(viewport=viewport)
    page = anonymous.new_page()
    for path in ("/auth/sign-up", "/"):
        page.goto(layout_server.base_url + path)
        screenshot(page, f"{size}-signed-out{path.replace('/', '-').rstrip('-')}")
    anonymous.close()

    administrator = context_with(layout_browser, admin, viewport=viewport)
    page = administrator.new_page()
    page.goto(f"{layout_server.base_url}/admin/")
    users = page.get_by_role("link", name=re.compile("^users$", re.I)).first
    if size == "phone":
        # piccolo-admin folds its table list behind the menu button at the top left on narrow screens.
        menu_button = page.locator("a[href='#']").first
        expect(menu_button).to_be_visible(timeout=20_000)
        expect(users).to_be_hidden()
        screenshot(page, f"{size}-admin-closed")
        menu_button.click()
    expect(users).to_be_visible(timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"{size}-admin")
    page.goto(f"{layout_server.base_url}/admin-tools/actors?kind=preferences&id=shots")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"{size}-admin-actors")
    administrator.close()
