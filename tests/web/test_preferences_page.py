"""Preferences on the account page: theme, language and timezone saved, applied to every page."""

from __future__ import annotations

import re

import pytest

from tests.web.auth_support import HTMX, Client, fast_hashing, post_form, signed_in_user

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def ada(client: Client) -> Client:
    fast_hashing(client)
    signed_in_user(client, "ada@example.com", name="Ada")
    return client


def html_tag(client: Client, path: str = "/") -> str:
    match = re.search(r"<html[^>]*>", client.get(path, headers=BROWSER).text)
    assert match
    return match.group(0)


def choose(client: Client, theme: str, language: str, timezone: str, **kw: object) -> object:
    return post_form(
        client,
        "/_remote/update_preferences",
        {"theme": theme, "language": language, "timezone": timezone},
        **kw,  # type: ignore[arg-type]
    )


def test_new_user_gets_the_system_theme_in_english(ada: Client) -> None:
    assert html_tag(ada) == '<html lang="en" class="h-full">'
    assert 'id="account_preferences"' in ada.get("/account", headers=BROWSER).text


def test_saved_preferences_apply_to_every_page(ada: Client) -> None:
    response = choose(ada, "dark", "fr", "Asia/Tokyo", headers=HTMX)
    assert response.status_code == 200  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    # The form's section, and the state every page applies, out-of-band in the same answer.
    assert html.lstrip().startswith('<section id="account_preferences"')
    assert re.search(
        r'<div id="preferences_state" hx-swap-oob="true" hidden data-version="1" data-theme="dark"', html
    )
    assert html_tag(ada) == '<html lang="fr" class="h-full" data-theme="dark">'
    assert html_tag(ada, "/account") == '<html lang="fr" class="h-full" data-theme="dark">'


def test_times_show_in_the_users_timezone(ada: Client) -> None:
    assert re.search(
        r"last seen <time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>",
        ada.get("/account", headers=BROWSER).text,
    )
    choose(ada, "system", "en", "Asia/Tokyo")
    assert re.search(
        r"last seen <time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d JST</time>",
        ada.get("/account", headers=BROWSER).text,
    )


def test_a_remote_functions_partial_shows_times_in_the_users_timezone(ada: Client) -> None:
    # Remote functions load preferences only when their answer's templates read them: this one does.
    choose(ada, "system", "en", "Asia/Tokyo")
    response = post_form(ada, "/account/sessions/revoke-others", {}, headers=HTMX)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert re.search(r"last seen <time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d JST</time>", response.text)  # type: ignore[attr-defined]


def test_plain_form_post_comes_back_to_the_account_page(ada: Client) -> None:
    response = choose(ada, "light", "de", "Europe/Berlin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/account"  # type: ignore[attr-defined]
    assert html_tag(ada) == '<html lang="de" class="h-full" data-theme="light">'


@pytest.mark.parametrize(
    ("theme", "language", "timezone", "field"),
    [
        ("neon", "en", "UTC", "theme"),
        ("dark", "xx-Klingon", "UTC", "language"),
        ("dark", "en", "Mars/Olympus_Mons", "timezone"),
        ("dark", "en", "../../etc/passwd", "timezone"),
    ],
)
def test_bad_preferences_are_refused_with_the_field_named(
    ada: Client, theme: str, language: str, timezone: str, field: str
) -> None:
    headers = {**JSON, "x-csrftoken": ada.cookies["csrftoken"]}
    fields = {"theme": theme, "language": language, "timezone": timezone}
    response = ada.post("/_remote/update_preferences", data=fields, headers=headers)
    assert response.status_code == 422 and field in response.json()["errors"]
    htmx = choose(ada, theme, language, timezone, headers=HTMX)
    assert htmx.status_code == 422 and 'id="account_preferences"' in htmx.text  # type: ignore[attr-defined]
    assert html_tag(ada) == '<html lang="en" class="h-full">'


def test_preferences_need_sign_in(client: Client) -> None:
    response = client.post("/_remote/update_preferences", json={"theme": "dark"}, headers=JSON)
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    "body",
    [{}, {"theme": ["dark"]}, {"theme": "dark", "language": 7, "timezone": None}, {"timezone": "x" * 5000}],
)
def test_garbage_preferences_are_a_422_not_a_crash(ada: Client, body: dict[str, object]) -> None:
    headers = {**JSON, "x-csrftoken": ada.cookies["csrftoken"]}
    response = ada.post("/_remote/update_preferences", json=body, headers=headers)
    assert response.status_code == 422 and response.json()["errors"]
