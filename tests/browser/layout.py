"""Helpers for the layout's browser suites (their fixtures are in conftest.py): sizes, cookies, mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.mail import dev_mail_dir, list_stored
from tests.support.server import ROOT, RunningApp, wait_until
from tests.support.signin import LINK, signed_in

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize


ARTIFACTS = ROOT / "test-artifacts" / "ui"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
ADMIN = "root@example.com"
# The app allows 10 sign-ups per 10 minutes and 5 sign-ins a minute from one address: a module
# signs each person in once and hands their cookies to every browser context that needs them.
Cookies = list["SetCookieParam"]


def session_cookies(app: RunningApp, email: str, name: str) -> Cookies:
    """The cookies of a new, verified, signed-in user (signed up over HTTP)."""
    client = signed_in(app.base_url, app.data_dir, email, name)
    cookies: Cookies = [
        {"name": c.name, "value": c.value or "", "url": app.base_url} for c in client.cookies.jar
    ]
    client.close()
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
