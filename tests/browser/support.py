"""Shared by the browser tests: Debian's Chromium through Playwright, mailed links as URLs, the user menu."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.server import ROOT, RunningApp, free_port, running_app
from tests.support.signin import PASSWORD
from tests.support.signin import verification_link as verification_path

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

__all__ = [
    "APP_NAME",
    "ARGS",
    "CHROMIUM",
    "PASSWORD",
    "chromium",
    "open_user_menu",
    "served_app",
    "verification_link",
]

# The project's name as its layout spells it: a project made from the template has its own.
APP_NAME = re.search(r"· (.+?)</title>", (ROOT / "web/templates/base.html").read_text()).group(1)  # type: ignore[union-attr]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium for one test module; skipped, with the way to get it, when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@contextmanager
def served_app(
    tmp_path_factory: pytest.TempPathFactory, name: str, host: str = "127.0.0.1"
) -> Iterator[RunningApp]:
    """The app served on its own port with BASE_URL pointing there (mailed links work), data in `name`.

    `host="localhost"` makes BASE_URL (and the returned base_url) name localhost, the loopback
    address's name: WebAuthn needs a domain as the relying party id, and 127.0.0.1 is none.
    """
    port = free_port()
    base_url = f"http://{host}:{port}"
    with running_app(tmp_path_factory.mktemp(name), env={"BASE_URL": base_url}, port=port) as app:
        yield dataclasses.replace(app, base_url=base_url)


def verification_link(app: RunningApp, email: str) -> str:
    """The full URL of the verification link mailed to `email` (waits for the mail)."""
    return app.base_url + verification_path(app.data_dir, email)


def open_user_menu(page: Page) -> Locator:
    """Open the header's user menu (a <details>, so it works without JavaScript); returns its panel."""
    menu = page.locator("#user-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    return menu
