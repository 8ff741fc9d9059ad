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
MEMBER = "member@example.com"
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


def links_mailed(app: RunningApp, email: str, path: str) -> list[str]:
    """Every link to `path` mailed to `email` so far, newest first."""
    mails = list_stored(dev_mail_dir(app.data_dir))
    found = (LINK.search(mail.text) for mail in mails if mail.to == email)
    return [match.group(0) for match in found if match and path in match.group(0)]


def new_link_mailed(app: RunningApp, email: str, path: str, before: int) -> str:
    """The link to `path` in the mail that arrives after `before` such mails (written in the background)."""
    wait_until(lambda: len(links_mailed(app, email, path)) > before, 20, f"a new mail to {email} ({path})")
    return links_mailed(app, email, path)[0]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
