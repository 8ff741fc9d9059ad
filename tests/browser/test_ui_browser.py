"""The layout in Chromium: user menu, busy buttons, dark mode, axe-core on every page, desktop and phone."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.resources import files
from typing import Any, Literal

import pytest

from domain.mail import dev_mail_dir, list_stored
from tests.support.demo import COUNTER_DEMO
from tests.support.server import ROOT, RunningApp, free_port, running_app, wait_until
from tests.support.signin import LINK, signed_in

pytest.importorskip("playwright")
pytest.importorskip("axe_playwright_python")
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize, expect

from tests.browser.support import PASSWORD, chromium, open_user_menu, verification_link

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "ui"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
Scheme = Literal["light", "dark"]
ADMIN = "root@example.com"
# axe-core as the axe-playwright-python package ships it.
AXE_SCRIPT = (files("axe_playwright_python") / "axe.min.js").read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("browser-ui")
    with running_app(data_dir, env={"BASE_URL": f"http://127.0.0.1:{port}"}, port=port) as app:
        created = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "createadmin", ADMIN, "--name", "Root Admin"],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            cwd=data_dir,
            env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(data_dir)},
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


# The app allows 10 sign-ups per 10 minutes and 5 sign-ins a minute from one address: the module
# signs each person in once and hands their cookies to every browser context that needs them.
Cookies = list[SetCookieParam]


def session_cookies(app: RunningApp, email: str, name: str) -> Cookies:
    """The cookies of a new, verified, signed-in user (signed up over HTTP)."""
    client = signed_in(app.base_url, app.data_dir, email, name)
    cookies: Cookies = [
        {"name": c.name, "value": c.value or "", "url": app.base_url} for c in client.cookies.jar
    ]
    client.close()
    return cookies


@pytest.fixture(scope="module")
def member(server: RunningApp) -> Cookies:
    return session_cookies(server, "member@example.com", "Ada Lovelace")


@pytest.fixture(scope="module")
def admin(server: RunningApp, browser: Browser) -> Cookies:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu")).to_be_visible()
    cookies: Cookies = [
        {"name": c["name"], "value": c["value"], "url": server.base_url} for c in context.cookies()
    ]
    context.close()
    return cookies


def context_with(browser: Browser, cookies: Cookies, **options: Any) -> BrowserContext:
    context = browser.new_context(**options)
    context.add_cookies(cookies)
    return context


def mailed_link(app: RunningApp, email: str, path: str) -> str:
    """The newest link to `path` mailed to `email` (the app writes mail in the background)."""
    found: list[str] = []

    def mailed() -> bool:
        for mail in list_stored(dev_mail_dir(app.data_dir)):
            match = LINK.search(mail.text) if mail.to == email else None
            if match and path in match.group(0):
                found.append(match.group(0))
                return True
        return False

    wait_until(mailed, 20, f"a mail to {email} with a link to {path}")
    return found[0]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it stands, one line each (rule, impact, first element)."""
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']} in {page.url}"
        for v in results["violations"]
    ]


def test_user_menu_holds_account_and_sign_out_but_no_admin_link(server: RunningApp, browser: Browser) -> None:
    context = context_with(browser, session_cookies(server, "menu@example.com", "Mina Ortiz"))
    page = context.new_page()
    page.goto(server.base_url)
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
    expect(page).to_have_url(f"{server.base_url}/account")
    open_user_menu(page).get_by_role("button", name="Sign out").click()
    expect(page.locator("#user-menu")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    context.close()


def test_user_menu_works_without_javascript(server: RunningApp, browser: Browser) -> None:
    cookies = session_cookies(server, "nojs@example.com", "Noor")
    context = context_with(browser, cookies, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.base_url}/account")
    open_user_menu(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    context.close()


def test_user_menu_offers_admin_to_admins(server: RunningApp, browser: Browser, admin: Cookies) -> None:
    context = context_with(browser, admin)
    page = context.new_page()
    page.goto(server.base_url)
    open_user_menu(page).get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/"))
    expect(page.get_by_role("link", name=re.compile("^users$", re.I)).first).to_be_visible(timeout=20_000)
    context.close()


def test_submit_button_is_busy_while_sign_up_is_in_flight(server: RunningApp, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.base_url}/auth/sign-up")
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
def test_dark_mode_follows_the_system_preference(server: RunningApp, browser: Browser, path: str) -> None:
    schemes: list[tuple[Scheme, bool]] = [("light", False), ("dark", True)]
    for scheme, dark in schemes:
        context = browser.new_context(color_scheme=scheme, viewport=DESKTOP)
        page = context.new_page()
        page.goto(f"{server.base_url}{path}")
        lightness = body_lightness(page)
        assert (lightness < 0.3) if dark else (lightness > 0.9), (scheme, lightness)
        heading = page.get_by_role("heading", level=1)
        heading_color = heading.evaluate("el => getComputedStyle(el).color")
        assert heading_color != page.evaluate("getComputedStyle(document.body).backgroundColor")
        screenshot(page, f"{scheme}{path.replace('/', '-') or '-home'}")
        context.close()


def every_page(
    app: RunningApp, browser: Browser, scheme: Scheme, member: Cookies, admin: Cookies
) -> Iterator[tuple[str, Page]]:
    """Each of the app's own pages once, in the state a person meets it; yields (name, page)."""
    anonymous = browser.new_context(color_scheme=scheme, viewport=DESKTOP)
    page = anonymous.new_page()
    for name, path in [
        ("home", "/"),
        ("sign-in", "/auth/sign-in"),
        ("sign-up", "/auth/sign-up"),
        ("forgot", "/auth/forgot-password"),
        ("resend", "/auth/resend-verification"),
        ("reset-invalid", "/auth/reset-password?token=nope"),
        ("error-404", "/no-such-page"),
    ] + ([("counter", "/counter/axe")] if COUNTER_DEMO else []):
        page.goto(app.base_url + path)
        yield name, page
    # A sign-up in this browser: its "check your email" answer, then the link from the mail.
    email = f"axe-{scheme}@example.com"
    page.goto(f"{app.base_url}/auth/sign-up")
    page.get_by_label("Name").fill("Axel")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    yield "sign-up-sent", page
    page.goto(verification_link(app, email))
    expect(page.get_by_text("is confirmed")).to_be_visible()
    yield "verify", page
    page.goto(f"{app.base_url}/auth/forgot-password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#auth_forgot_password [role=status]")).to_be_visible()
    page.goto(mailed_link(app, email, "/auth/reset-password"))
    expect(page.get_by_label("New password")).to_be_visible()
    yield "reset", page
    page.goto(f"{app.base_url}/dev/mail")
    page.locator("main ul a").first.click()
    expect(page.locator("[data-mail-html]")).to_be_visible()
    yield "dev-mail", page
    anonymous.close()

    signed = context_with(browser, member, color_scheme=scheme, viewport=DESKTOP)
    page = signed.new_page()
    for name, path in [("home-signed-in", "/"), ("account", "/account")]:
        page.goto(app.base_url + path)
        yield name, page
    open_user_menu(page)
    yield "account-menu-open", page
    signed.close()

    administrator = context_with(browser, admin, color_scheme=scheme, viewport=DESKTOP)
    page = administrator.new_page()
    page.goto(f"{app.base_url}/admin-tools/actors?kind=counter&id=axe")
    yield "admin-actors", page
    administrator.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_any_page(
    server: RunningApp, browser: Browser, member: Cookies, admin: Cookies, scheme: Scheme
) -> None:
    violations: list[str] = []
    seen: list[str] = []
    for name, page in every_page(server, browser, scheme, member, admin):
        seen.append(name)
        violations += axe_violations(page)
    assert {"home", "sign-in", "sign-up", "forgot", "reset", "verify", "resend", "account"} <= set(seen)
    assert {"dev-mail", "error-404", "admin-actors"} <= set(seen)
    assert violations == []


def test_mail_page_shows_the_html_mail_and_its_button_signs_in_here(
    server: RunningApp, browser: Browser
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{server.base_url}/auth/sign-up")
    page.get_by_label("Name").fill("Mae")
    page.get_by_label("Email").fill("mae@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(f"{server.base_url}/dev/mail")
    page.locator("main ul li").filter(has_text="mae@example.com").get_by_role("link").first.click()
    frame = page.frame_locator("[data-mail-html]")
    button = frame.get_by_role("link", name="Confirm your email address")
    expect(button).to_be_visible()
    screenshot(page, "dev-mail")
    button.click()  # the frame's links open in the page around it
    expect(page).to_have_url(re.compile(r"/auth/verify\?token="))
    expect(page.get_by_text("is confirmed")).to_be_visible()
    context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_and_no_sideways_scrolling(
    server: RunningApp, browser: Browser, member: Cookies, admin: Cookies, size: str, viewport: ViewportSize
) -> None:
    """Every page fits the width (no horizontal scroll), admin panel included; screenshots for a look."""
    context = context_with(browser, member, viewport=viewport)
    page = context.new_page()
    paths = ["/", "/account", "/auth/sign-in", "/dev/mail"] + (["/counter/shots"] if COUNTER_DEMO else [])
    for path in paths:
        page.goto(server.base_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
        screenshot(page, f"{size}{path.replace('/', '-').rstrip('-') or '-home'}")
    open_user_menu(page)
    screenshot(page, f"{size}-menu-open")
    context.close()
    anonymous = browser.new_context(viewport=viewport)
    page = anonymous.new_page()
    for path in ("/auth/sign-up", "/"):
        page.goto(server.base_url + path)
        screenshot(page, f"{size}-signed-out{path.replace('/', '-').rstrip('-')}")
    anonymous.close()

    administrator = context_with(browser, admin, viewport=viewport)
    page = administrator.new_page()
    page.goto(f"{server.base_url}/admin/")
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
    page.goto(f"{server.base_url}/admin-tools/actors?kind=counter&id=shots")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"{size}-admin-actors")
    administrator.close()
