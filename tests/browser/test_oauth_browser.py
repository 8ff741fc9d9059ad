"""OAuth in a real browser (Chromium) against the served app and the local provider, JavaScript on and off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.oauth_provider import OAuthProvider
from tests.support.server import RunningApp, free_port, running_app

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def idp(app_port: int) -> Iterator[OAuthProvider]:
    base = f"http://127.0.0.1:{app_port}"
    server = OAuthProvider()
    server.add_client("gh", "gh-secret", [f"{base}/auth/oauth/github/callback"], "read:user user:email")
    server.add_client("g", "g-secret", [f"{base}/auth/oauth/google/callback"], "openid email profile")
    server.add_user("ada", name="Ada Lovelace", email="ada@example.com")
    server.add_user("bea", name="Bea", email="bea@example.com")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, app_port: int, idp: OAuthProvider
) -> Iterator[RunningApp]:
    env = {
        "BASE_URL": f"http://127.0.0.1:{app_port}",
        "GITHUB_CLIENT_ID": "gh",
        "GITHUB_CLIENT_SECRET": "gh-secret",
        "GITHUB_OAUTH_BASE_URL": idp.base_url,
        "GITHUB_API_BASE_URL": f"{idp.base_url}/api",
        "GOOGLE_CLIENT_ID": "g",
        "GOOGLE_CLIENT_SECRET": "g-secret",
        "GOOGLE_SERVER_METADATA_URL": idp.metadata_url,
    }
    with running_app(tmp_path_factory.mktemp("browser-oauth"), env=env, port=app_port) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def allow_at_provider(page: Page, idp: OAuthProvider, login: str) -> None:
    page.wait_for_url(f"{idp.base_url}/**")
    page.select_option("select[name=login]", login)
    page.click("button[value=allow]")


@pytest.mark.parametrize(("javascript", "login"), [(True, "ada"), (False, "bea")], ids=["htmx", "no-js"])
def test_oauth_browser_sign_in_link_and_unlink(
    browser: Browser, server: RunningApp, idp: OAuthProvider, javascript: bool, login: str
) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(f"{server.base_url}/auth/sign-in?next=/account")
        page.click("text=Continue with GitHub")
        allow_at_provider(page, idp, login)
        page.wait_for_url(f"{server.base_url}/account")
        section = page.locator("#oauth_accounts")
        expect(section).to_contain_text("GitHub")
        expect(section.locator("[data-provider=github]")).to_contain_text("Linked")

        section.locator("text=Link Google").click()
        allow_at_provider(page, idp, login)
        page.wait_for_url(f"{server.base_url}/account")
        expect(page.locator("body")).to_contain_text("Google is now linked.")

        page.locator("#oauth_accounts [data-provider=github] button:has-text('Unlink')").click()
        expect(page.locator("body")).to_contain_text("GitHub is no longer linked.")
        expect(page.locator("#oauth_accounts [data-provider=github]")).to_contain_text("Not linked")
    finally:
        context.close()
