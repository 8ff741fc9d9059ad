"""Single-flight updates: a command's htmx answer carries every region it changed (`updates=`)."""

from __future__ import annotations

import re

import pytest

from tests.web.auth_support import HTMX, Client, fast_hashing, post_form, signed_in_user
from web.remote import Registry, command

JSON = {"Accept": "application/json"}


@pytest.fixture
def ada(client: Client) -> Client:
    fast_hashing(client)
    signed_in_user(client, "ada@example.com", name="Ada")
    return client


def header_name(html: str) -> str:
    match = re.search(r'<span id="header_user"[^>]*>([^<]*)</span>', html)
    assert match, html
    return match.group(1)


def test_profile_rename_answers_with_the_card_and_the_header_name_out_of_band(ada: Client) -> None:
    response = post_form(
        ada, "/_remote/update_user_profile", {"name": "Ada Lovelace", "avatar": ""}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.text.strip()
    # The main partial first, swapped where the caller aimed it; then the header's name, by its id.
    assert html.startswith('<section id="account_profile"') and "Ada Lovelace" in html.split("</section>")[0]
    assert re.search(r'<span id="header_user" hx-swap-oob="true"', html)
    assert header_name(html) == "Ada Lovelace"
    assert html.count('id="header_user"') == 1
    # And the next page agrees: nothing cached the old name.
    assert header_name(ada.get("/account").text) == "Ada Lovelace"


def test_updates_are_only_for_htmx_callers(ada: Client) -> None:
    as_json = ada.post(
        "/_remote/update_user_profile",
        json={"name": "Ada J", "avatar": ""},
        headers={**JSON, "x-csrftoken": ada.cookies["csrftoken"]},
    )
    assert as_json.status_code == 200 and as_json.json()["name"] == "Ada J"
    plain = post_form(
        ada, "/_remote/update_user_profile", {"name": "Ada P", "avatar": ""}, follow_redirects=False
    )
    assert plain.status_code == 303 and "hx-swap-oob" not in plain.text


def test_failed_update_sends_no_out_of_band_regions(ada: Client) -> None:
    response = post_form(ada, "/_remote/update_user_profile", {"name": "", "avatar": ""}, headers=HTMX)
    assert response.status_code == 422
    assert "hx-swap-oob" not in response.text and 'id="header_user"' not in response.text


def test_the_page_renders_the_header_name_from_the_same_partial(ada: Client) -> None:
    page = ada.get("/")
    assert header_name(page.text) == "Ada" and 'id="header_user" hx-swap-oob' not in page.text


@pytest.mark.parametrize("names", [["Header-User"], ["../secrets"], [""]])
def test_updates_must_name_partials(names: list[str]) -> None:
    with pytest.raises(TypeError, match="updates="):

        @command(public=True, updates=names, registry=Registry())
        async def change() -> None:
            """A change that claims to update a region with an impossible name."""
