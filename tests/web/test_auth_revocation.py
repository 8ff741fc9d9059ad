"""Every credential or address change ends every older emailed link of the account (and its sessions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.auth.core import VERIFY_EMAIL
from domain.auth.tables import User
from tests.web.auth_support import (
    PASSWORD,
    Browser,
    Client,
    auth_of,
    fast_hashing,
    last_link,
    post_form,
    run,
    signed_in_user,
)

ADA = "ada@example.com"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def _user_id(client: Client) -> int:
    async def find() -> int:
        row = await User.select(User.id).where(User.email == ADA).first()
        assert row is not None
        return int(row["id"])

    return run(client, find)


def reset_link(client: Client) -> str:
    assert post_form(client, "/auth/forgot-password", {"email": ADA}).status_code == 200
    return last_link(client, ADA)


def email_change_link(client: Client) -> str:
    data = {"new_email": "elsewhere@example.com", "current_password": PASSWORD}
    assert post_form(client, "/account/email", data).status_code == 200
    return last_link(client, "elsewhere@example.com")


def verification_link(client: Client) -> str:
    # A sign-up link that outlived verification (issued in a race with it) is the same danger.
    token = run(client, auth_of(client).issue_token, _user_id(client), VERIFY_EMAIL)
    return f"/auth/verify?token={token}"


def is_refused(client: Client, link: str) -> bool:
    return client.get(link, follow_redirects=False).status_code == 400


def do_reset(client: Client) -> None:
    token = reset_link(client).split("token=", 1)[1]
    response = post_form(client, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200


def do_change_password(client: Client) -> None:
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert post_form(client, "/account/password", data).status_code == 200


def do_change_email(client: Client) -> None:
    data = {"new_email": "moved@example.com", "current_password": PASSWORD}
    assert post_form(client, "/account/email", data).status_code == 200
    assert client.get(last_link(client, "moved@example.com")).status_code == 200


def do_sign_out_everywhere(client: Client) -> None:
    assert post_form(client, "/account/sessions/revoke-others", {}).status_code == 200


LINKS: dict[str, Callable[[Client], str]] = {
    "reset": reset_link,
    "email_change": email_change_link,
    "verification": verification_link,
}
CHANGES: dict[str, Callable[[Client], None]] = {
    "reset": do_reset,
    "change_password": do_change_password,
    "change_email": do_change_email,
    "sign_out_everywhere": do_sign_out_everywhere,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_revocation_every_change_refuses_every_older_link(client: Client, change: str) -> None:
    signed_in_user(client, ADA)
    other = Browser(client)
    with other.active() as browser:
        assert post_form(browser, "/auth/sign-in", {"email": ADA, "password": PASSWORD}).status_code == 200
    older = {kind: make(client) for kind, make in LINKS.items()}
    CHANGES[change](client)
    for kind, link in older.items():
        assert is_refused(client, link), f"a {kind} link survived {change}"
    with other.active() as browser:
        assert browser.get("/account", follow_redirects=False).status_code == 303, "another session survived"


def test_revocation_a_session_thief_loses_a_pending_email_change_on_reset(client: Client) -> None:
    """The thief asked to move the account to their address; the owner's reset must void that link."""
    signed_in_user(client, ADA)
    thief_link = email_change_link(client)
    owner = Browser(client)
    with owner.active() as browser:
        token = reset_link(browser).split("token=", 1)[1]
        assert (
            post_form(browser, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD}).status_code
            == 200
        )
    owner_mail = run(client, User.select(User.email).first)
    assert is_refused(client, thief_link)
    assert owner_mail is not None and owner_mail["email"] == ADA
