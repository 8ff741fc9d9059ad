"""axe-core over every page of the app, light and dark: zero violations."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from typing import Literal

import pytest

from tests.support.demo import COUNTER_DEMO
from tests.support.server import RunningApp

pytest.importorskip("playwright")
pytest.importorskip("axe_playwright_python")
from playwright.sync_api import Browser, Page, expect

from tests.browser.layout import (
    DESKTOP,
    MEMBER,
    Cookies,
    context_with,
    links_mailed,
    new_link_mailed,
)
from tests.browser.support import PASSWORD, open_user_menu, verification_link

pytestmark = pytest.mark.browser
Scheme = Literal["light", "dark"]
# axe-core as the axe-playwright-python package ships it.
AXE_SCRIPT = (files("axe_playwright_python") / "axe.min.js").read_text()


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it stands, one line each (rule, impact, first element)."""
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']} in {page.url}"
        for v in results["violations"]
    ]


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
    # A sign-up: its "check your email" answer, then its link opened in another browser, which asks
    # for the password (in the browser that signed up, the link signs in and shows the home page).
    email = f"axe-{scheme}@example.com"
    page.goto(f"{app.base_url}/auth/sign-up")
    page.get_by_label("Name").fill("Axel")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    yield "sign-up-sent", page
    elsewhere = browser.new_context(color_scheme=scheme, viewport=DESKTOP)
    other = elsewhere.new_page()
    other.goto(verification_link(app, email))
    expect(other.get_by_label("Password")).to_be_visible()
    yield "verify-elsewhere", other
    elsewhere.close()
    page.goto(f"{app.base_url}/auth/verify?token=not-a-token")
    yield "verify-invalid", page
    # A reset link for an existing account.
    resets = len(links_mailed(app, MEMBER, "/auth/reset-password"))
    page.goto(f"{app.base_url}/auth/forgot-password")
    page.get_by_label("Email").fill(MEMBER)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#auth_forgot_password [role=status]")).to_be_visible()
    page.goto(new_link_mailed(app, MEMBER, "/auth/reset-password", resets))
    expect(page.get_by_label("New password")).to_be_visible()
    yield "reset", page
    # A sign-in link: asked for on the sign-in page, opened in another browser (which asks first).
    sent = len(links_mailed(app, MEMBER, "/auth/magic-link"))
    page.goto(f"{app.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(MEMBER)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("#auth_sign_in [role=status]")).to_be_visible()
    yield "sign-in-link-sent", page
    elsewhere = browser.new_context(color_scheme=scheme, viewport=DESKTOP)
    other = elsewhere.new_page()
    other.goto(new_link_mailed(app, MEMBER, "/auth/magic-link", sent))
    expect(other.get_by_role("button", name="Sign in on this device")).to_be_visible()
    yield "sign-in-link-elsewhere", other
    elsewhere.close()
    page.goto(f"{app.base_url}/auth/magic-link?token=nope")
    yield "sign-in-link-invalid", page
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
    layout_server: RunningApp, layout_browser: Browser, member: Cookies, admin: Cookies, scheme: Scheme
) -> None:
    violations: list[str] = []
    seen: list[str] = []
    for name, page in every_page(layout_server, layout_browser, scheme, member, admin):
        seen.append(name)
        violations += axe_violations(page)
    assert {"home", "sign-in", "sign-up", "forgot", "reset", "verify-elsewhere", "verify-invalid"} <= set(
        seen
    )
    assert {"resend", "account", "sign-in-link-elsewhere", "sign-in-link-invalid"} <= set(seen)
    assert {"dev-mail", "error-404", "admin-actors"} <= set(seen)
    assert violations == []
