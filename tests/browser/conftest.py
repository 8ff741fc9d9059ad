"""Fixtures for the layout's browser suites: a served app with an admin, and people signed in once.

Module-scoped, so each suite gets its own server; the names say whose they are, since other
browser suites define their own `server` and `browser`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.layout import ADMIN, MEMBER, Cookies, session_cookies
from tests.browser.support import chromium
from tests.support.server import ROOT, RunningApp, free_port, running_app
from tests.support.signin import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def layout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app served on its own port, with an admin made by `createadmin`."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("browser-layout")
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
def layout_browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def member(layout_server: RunningApp) -> Cookies:
    return session_cookies(layout_server, MEMBER, "Ada Lovelace")


@pytest.fixture(scope="module")
def admin(layout_server: RunningApp, layout_browser: Browser) -> Cookies:
    from playwright.sync_api import expect

    context = layout_browser.new_context()
    page = context.new_page()
    page.goto(f"{layout_server.base_url}/auth/sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu")).to_be_visible()
    base_url = layout_server.base_url
    cookies: Cookies = [{"name": c["name"], "value": c["value"], "url": base_url} for c in context.cookies()]
    context.close()
    return cookies
