"""piccolo-admin in a real browser (Chromium): the app's sign-in is the only login it needs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.server import ROOT, RunningApp, free_port, running_app

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect

from tests.browser.support import PASSWORD, chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("browser-admin")
    with running_app(data_dir, env={"BASE_URL": f"http://127.0.0.1:{port}"}, port=port) as app:
        created = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "createadmin", "root@example.com", "--name", "Root"],
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


def test_admin_signs_in_once_and_uses_the_panel(server: RunningApp, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{server.base_url}/admin")
    expect(page).to_have_url(re.compile(r"/auth/sign-in\?next=/admin/$"))
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/"))
    # piccolo-admin's page, with our tables and no login form of its own.
    expect(page.get_by_role("link", name=re.compile("^users$", re.I)).first).to_be_visible(timeout=20_000)
    expect(page.get_by_role("link", name=re.compile("actor inspector", re.I)).first).to_be_visible()
    page.get_by_role("link", name=re.compile("^users$", re.I)).first.click()
    expect(page.locator("table").get_by_text("root@example.com")).to_be_visible(timeout=20_000)
    expect(page.locator("input[type=password]")).to_have_count(0)
    page.get_by_role("link", name=re.compile("actor inspector", re.I)).first.click()
    expect(page.get_by_role("heading", name="Actor inspector")).to_be_visible()
    page.get_by_label("Id").fill("browser-check")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_text("No state")).to_be_visible()
    # Back to piccolo-admin: a full page load (an htmx-boosted swap would not run its script).
    page.get_by_role("link", name="Admin panel").click()
    expect(page.get_by_role("link", name=re.compile("^sessions$", re.I)).first).to_be_visible(timeout=20_000)
    page.close()
