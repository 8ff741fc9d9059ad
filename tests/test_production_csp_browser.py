"""The Content-Security-Policy works with htmx and its SSE extension in Chromium: no violation anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from domain.mail import body_text
from tests.support.server import RunningApp, free_port, running_app
from tests.support.signin import LINK, PASSWORD
from tests.support.smtp_sink import SmtpSink

pytest.importorskip("playwright")
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.support import APP_NAME, chromium, verification_link
from tests.browser.test_preferences_browser import wait_for_stream

pytestmark = [pytest.mark.browser]

SECRET = "3k0WNkY7y7ivRzRbfSm6xpqCHZ4eCXzOaV37TMjmYZ0"
# Set on the window after load: still there later means the page was never reloaded.
MARK = "() => { window.__sameDocument = true; }"
SAME_DOCUMENT = "() => window.__sameDocument === true"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink("plain").start()
    yield server
    server.stop()


@contextmanager
def serve(tmp_path: Path, smtp_url: str | None = None) -> Iterator[RunningApp]:
    """Development, or with `smtp_url` production (mail has to go somewhere there)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {"BASE_URL": origin}
    if smtp_url is not None:
        # Enforced CSP and host checks; the browser still speaks plain HTTP to the loopback port
        # (a trustworthy origin to Chromium, so it keeps the Secure `__Host-` cookies).
        env = {
            "APP_ENV": "production",
            "AUTH_SECRET": SECRET,
            "BASE_URL": f"https://127.0.0.1:{port}",
            "TRUSTED_ORIGINS": origin,
            "SMTP_URL": smtp_url,
        }
    with running_app(tmp_path / "data", env=env, port=port) as app:
        yield app


def csp_violations(page: Page) -> list[str]:
    seen: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


def sign_up_and_verify(page: Page, app: RunningApp, name: str, email: str, link: Callable[[], str]) -> None:
    """Create the account in the browser; the mailed link (`link()`, a full URL) signs it in."""
    page.goto(f"{app.base_url}/auth/sign-up")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(link())
    expect(page.locator("#user-menu summary")).to_contain_text(name)


def save_theme(page: Page, label: str) -> None:
    preferences = page.locator("#account_preferences")
    preferences.get_by_label(label).check()
    preferences.get_by_role("button", name="Save preferences").click()


def test_htmx_flow_raises_no_csp_report(tmp_path: Path, browser: Browser) -> None:
    """Development sends the policy report-only: a violation would still show in the console."""
    with serve(tmp_path) as app:
        context = browser.new_context()
        page = context.new_page()
        violations = csp_violations(page)
        email = "ada@example.com"
        sign_up_and_verify(page, app, "Ada", email, lambda: verification_link(app, email))
        response = page.goto(f"{app.base_url}/account")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy-report-only"]
        wait_for_stream(page, "#preferences_live")
        page.evaluate(MARK)
        for label, theme in (("Dark", "dark"), ("Light", "light")):
            save_theme(page, label)
            expect(page.locator("html")).to_have_attribute("data-theme", theme)
        profile = page.locator("#account_profile")
        profile.get_by_label("Name").fill("Ada Lovelace")
        profile.get_by_role("button", name="Save profile").click()
        expect(page.locator("#header_user")).to_have_text("Ada Lovelace")
        assert page.evaluate(SAME_DOCUMENT)
        page.get_by_role("link", name=APP_NAME).first.click()  # a boosted navigation
        expect(page).to_have_url(f"{app.base_url}/")
        context.close()
        assert violations == []


def test_enforced_csp_keeps_htmx_and_live_updates_working(
    tmp_path: Path, browser: Browser, sink: SmtpSink
) -> None:
    with serve(tmp_path, smtp_url=sink.url) as app:

        def mailed_link() -> str:
            found = LINK.search(body_text(sink.next_message().message, "plain"))
            assert found, "no link in the verification mail"
            parts = urlsplit(found.group(0))
            return f"{app.base_url}{parts.path}?{parts.query}"

        context = browser.new_context()
        watching = context.new_page()
        violations = csp_violations(watching)
        sign_up_and_verify(watching, app, "Ada", "ada@example.com", mailed_link)
        response = watching.goto(f"{app.base_url}/")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert watching.evaluate("typeof htmx") == "object"
        wait_for_stream(watching, "#preferences_live")
        watching.evaluate(MARK)

        # Another tab saves the theme through htmx; the first one follows over SSE, not reloaded.
        tab = context.new_page()
        tab_violations = csp_violations(tab)
        tab.goto(f"{app.base_url}/account")
        save_theme(tab, "Dark")
        expect(tab.locator("html")).to_have_attribute("data-theme", "dark")
        expect(watching.locator("html")).to_have_attribute("data-theme", "dark")
        assert watching.evaluate(SAME_DOCUMENT)
        context.close()
        assert violations == [] and tab_violations == []
