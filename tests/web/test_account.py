"""The account page over HTTP: profile, password, email, sessions, deletion, profile remote functions."""

from __future__ import annotations

import pytest

from tests.web.auth_support import (
    HTMX,
    PASSWORD,
    Browser,
    Client,
    fast_hashing,
    last_link,
    mails_to,
    post_form,
    session_cookie,
    sign_in,
    signed_in_user,
)

JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


@pytest.fixture
def ada(client: Client) -> Client:
    signed_in_user(client, "ada@example.com", name="Ada")
    return client


def test_account_page_shows_user_and_sessions(ada: Client) -> None:
    page = ada.get("/account")
    assert page.status_code == 200
    assert "ada@example.com" in page.text and "this device" in page.text
    assert 'id="account_profile"' in page.text and 'id="account_sessions"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_update_profile_as_browser_and_htmx(ada: Client) -> None:
    response = post_form(
        ada,
        "/account/profile",
        {"name": "Ada L.", "avatar": "https://img.example/a.png"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/account"
    page = ada.get("/account")
    assert (
        "Profile saved." in page.text and "Ada L." in page.text and "https://img.example/a.png" in page.text
    )

    partial = post_form(ada, "/account/profile", {"name": "Countess", "avatar": ""}, headers=HTMX)
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<section id="account_profile"')
    assert "Countess" in partial.text and "Profile saved." in partial.text
    # The session cache was refreshed: the next page shows the new name.
    assert "Countess" in ada.get("/").text


@pytest.mark.parametrize(
    ("name", "avatar", "field_message"),
    [
        ("", "", "Enter your name."),
        ("x" * 101, "", "Use at most 100 characters."),
        ("Ada", "javascript:alert(1)", "Enter an http:// or https:// image URL"),
        ("Ada", "ftp://example.com/a.png", "Enter an http:// or https:// image URL"),
    ],
)
def test_update_profile_field_errors(ada: Client, name: str, avatar: str, field_message: str) -> None:
    page = post_form(ada, "/account/profile", {"name": name, "avatar": avatar})
    assert page.status_code == 422 and field_message in page.text and "<html" in page.text
    partial = post_form(ada, "/account/profile", {"name": name, "avatar": avatar}, headers=HTMX)
    assert partial.status_code == 422 and partial.text.lstrip().startswith('<section id="account_profile"')
    assert 'aria-invalid="true"' in partial.text


def test_change_password_keeps_this_session_and_ends_others(ada: Client) -> None:
    other = Browser(ada)
    with other.active() as client:
        assert sign_in(client, "ada@example.com").status_code == 200
    wrong = post_form(
        ada, "/account/password", {"current_password": "not it at all", "new_password": "a fresh password"}
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    response = post_form(
        ada, "/account/password", {"current_password": PASSWORD, "new_password": "a fresh password"}
    )
    assert response.status_code == 200 and "Password changed." in response.text
    assert ada.get("/account", follow_redirects=False).status_code == 200
    with other.active() as client:
        assert client.get("/account", follow_redirects=False).status_code == 303
    assert mails_to(ada, "ada@example.com")[-1].subject == "Your password was changed"
    assert sign_in(ada, "ada@example.com", PASSWORD).status_code == 422
    assert sign_in(ada, "ada@example.com", "a fresh password").status_code == 200


def test_change_email_after_confirming_the_new_address(ada: Client) -> None:
    response = post_form(
        ada, "/account/email", {"new_email": "Ada@New.example", "current_password": PASSWORD}, headers=HTMX
    )
    assert response.status_code == 200 and "We sent a confirmation link to ada@new.example" in response.text
    assert mails_to(ada, "ada@example.com")[-1].subject == "Email change requested"
    # Nothing changes until the link is followed.
    assert "ada@example.com" in ada.get("/account").text
    assert ada.get(last_link(ada, "ada@new.example")).status_code == 200
    assert "ada@new.example" in ada.get("/account").text
    post_form(ada, "/auth/sign-out", {})
    assert sign_in(ada, "ada@example.com").status_code == 422
    assert sign_in(ada, "ada@new.example").status_code == 200


def test_change_email_errors(ada: Client) -> None:
    same = post_form(ada, "/account/email", {"new_email": "ada@example.com", "current_password": PASSWORD})
    assert same.status_code == 422 and "already your email" in same.text
    bad = post_form(ada, "/account/email", {"new_email": "nope", "current_password": PASSWORD})
    assert bad.status_code == 422 and "valid email" in bad.text
    wrong = post_form(
        ada, "/account/email", {"new_email": "x@example.com", "current_password": "wrong wrong"}
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.text


def _session_id_after(page: str, label: str) -> str:
    """The id in the revoke form that follows the session labelled `label`."""
    return page.split(label, 1)[1].split("/account/sessions/", 1)[1].split("/", 1)[0]


def test_revoke_one_session_and_all_others(ada: Client) -> None:
    # User agents no page text contains, so finding one finds its session.
    PHONE, TABLET = "Phone-7f3a/1.0", "Tablet-7f3a/1.0"
    phone, tablet = Browser(ada), Browser(ada)
    with phone.active() as client:
        sign_in(client, "ada@example.com", headers={"User-Agent": PHONE})
    with tablet.active() as client:
        sign_in(client, "ada@example.com", headers={"User-Agent": TABLET})
    page = ada.get("/account").text
    assert PHONE in page and TABLET in page
    response = post_form(
        ada, f"/account/sessions/{_session_id_after(page, PHONE)}/revoke", {}, headers=HTMX
    )
    assert response.status_code == 200 and "That session has been signed out." in response.text
    assert PHONE not in response.text and TABLET in response.text
    with phone.active() as client:
        assert client.get("/account", follow_redirects=False).status_code == 303
    with tablet.active() as client:
        assert client.get("/account", follow_redirects=False).status_code == 200

    response = post_form(ada, "/account/sessions/revoke-others", {}, follow_redirects=False)
    assert response.status_code == 303
    assert "Signed out of 1 other session." in ada.get("/account").text
    with tablet.active() as client:
        assert client.get("/account", follow_redirects=False).status_code == 303
    assert ada.get("/account", follow_redirects=False).status_code == 200


def test_cannot_revoke_someone_elses_session(ada: Client) -> None:
    eve = Browser(ada)
    with eve.active() as client:
        signed_in_user(client, "eve@example.com", name="Eve")
        eve_session = _session_id_after(client.get("/account").text, "this device")
    response = post_form(ada, f"/account/sessions/{eve_session}/revoke", {})
    assert response.status_code == 404
    with eve.active() as client:
        assert client.get("/account", follow_redirects=False).status_code == 200


def test_revoking_the_current_session_signs_out(ada: Client) -> None:
    page = ada.get("/account").text
    own = page.split("/account/sessions/", 1)[1].split("/", 1)[0]
    response = post_form(ada, f"/account/sessions/{own}/revoke", {}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in"
    assert not session_cookie(ada)


def test_delete_account(ada: Client) -> None:
    wrong = post_form(ada, "/account/delete", {"current_password": "not my password"})
    assert wrong.status_code == 422
    response = post_form(ada, "/account/delete", {"current_password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert not session_cookie(ada)
    assert sign_in(ada, "ada@example.com").status_code == 422
    # The address is free again.
    assert (
        post_form(
            ada, "/auth/sign-up", {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_account_posts_need_a_session(client: Client) -> None:
    response = post_form(client, "/account/profile", {"name": "X"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/auth/sign-in")
    htmx = post_form(client, "/account/profile", {"name": "X"}, headers=HTMX)
    assert htmx.headers["HX-Redirect"].startswith("/auth/sign-in")


def test_profile_remote_functions(ada: Client) -> None:
    profile = ada.get("/_remote/get_user_profile", headers=JSON)
    assert profile.status_code == 200
    assert profile.json() == {
        "id": 1,
        "email": "ada@example.com",
        "name": "Ada",
        "avatar": None,
        "email_verified": True,
        "is_admin": False,
    }
    updated = ada.post(
        "/_remote/update_user_profile",
        json={"name": "Ada King", "avatar": "https://img.example/k.png"},
        headers={"x-csrftoken": ada.cookies["csrftoken"]},
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Ada King"
    invalid = ada.post(
        "/_remote/update_user_profile",
        json={"name": "", "avatar": "data:text/html,hi"},
        headers={"x-csrftoken": ada.cookies["csrftoken"]},
    )
    assert invalid.status_code == 422 and set(invalid.json()["errors"]) == {"name", "avatar"}
    card = ada.get("/_remote/get_user_profile", headers=HTMX)
    assert card.text.lstrip().startswith('<section id="account_profile_card"') and "Ada King" in card.text


def test_profile_remote_functions_need_sign_in(client: Client) -> None:
    response = client.get("/_remote/get_user_profile", headers=JSON)
    assert response.status_code == 401


def test_email_change_link_refused_when_the_address_was_taken_meanwhile(ada: Client) -> None:
    post_form(ada, "/account/email", {"new_email": "shared@example.com", "current_password": PASSWORD})
    link = last_link(ada, "shared@example.com")
    other = Browser(ada)
    with other.active() as client:
        signed_in_user(client, "shared@example.com", name="Other")
    response = ada.get(link)
    assert response.status_code == 409 and "belongs to another account" in response.text
    assert "ada@example.com" in ada.get("/account").text


def test_account_answers_vary_by_htmx(ada: Client) -> None:
    response = post_form(ada, "/account/profile", {"name": "Ada", "avatar": ""}, headers=HTMX)
    assert "HX-Request" in response.headers["vary"] and response.headers["cache-control"] == "no-store"


def test_change_password_and_delete_account_with_htmx(ada: Client) -> None:
    wrong = post_form(
        ada,
        "/account/password",
        {"current_password": "not it", "new_password": "a fresh password"},
        headers=HTMX,
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    assert "<html" not in wrong.text  # a partial for the swap, not a page
    changed = post_form(
        ada,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a fresh password"},
        headers=HTMX,
    )
    assert changed.status_code == 200 and "Password changed." in changed.text and "<html" not in changed.text
    refused = post_form(ada, "/account/delete", {"current_password": PASSWORD}, headers=HTMX)
    assert refused.status_code == 422 and "<html" not in refused.text
    deleted = post_form(ada, "/account/delete", {"current_password": "a fresh password"}, headers=HTMX)
    assert deleted.status_code == 200 and deleted.headers.get("HX-Redirect") == "/"
    assert not session_cookie(ada)
    assert sign_in(ada, "ada@example.com", "a fresh password").status_code == 422
