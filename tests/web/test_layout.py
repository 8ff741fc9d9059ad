"""The layout every page shares: icons that load, and the user menu's entries by role."""

from __future__ import annotations

import re

from tests.web.admin_support import signed_in_admin
from tests.web.auth_support import Client, fast_hashing, signed_in_user

BROWSER = {"Accept": "text/html"}


def test_layout_links_icons_that_are_served(client: Client) -> None:
    html = client.get("/", headers=BROWSER).text
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert icons == ["/static/favicon.ico", "/static/favicon.svg"]
    ico = client.get(icons[0])
    assert ico.status_code == 200 and ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = client.get(icons[1])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_user_menu_lists_account_and_sign_out_and_admin_only_for_admins(client: Client) -> None:
    fast_hashing(client)
    assert 'id="user-menu"' not in client.get("/", headers=BROWSER).text
    signed_in_user(client, "ada@example.com", name="Ada Lovelace")
    menu = (
        client.get("/", headers=BROWSER).text.split('<details id="user-menu"', 1)[1].split("</details>", 1)[0]
    )
    assert ">AL</span>" in menu and "ada@example.com" in menu
    assert 'href="/account"' in menu and 'action="/auth/sign-out"' in menu
    assert 'href="/admin/"' not in menu


def test_user_menu_offers_the_admin_panel_to_admins(client: Client) -> None:
    signed_in_admin(client)
    menu = (
        client.get("/", headers=BROWSER).text.split('<details id="user-menu"', 1)[1].split("</details>", 1)[0]
    )
    assert re.search(r'<a href="/admin/" hx-boost="false" class="menu-item">Admin</a>', menu)
