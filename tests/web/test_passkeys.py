"""Passkeys over HTTP: the account card's remote functions, sign-in and passkey-only sign-up.

A software authenticator with a real P-256 key (tests/support/authenticator.py) answers the options
the app sends, as a browser's `navigator.credentials` would.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from httpx import Response

from tests.conftest import TEST_BASE_URL
from tests.support import authenticator
from tests.support.authenticator import Credential
from tests.web.auth_support import (
    HTMX,
    Client,
    csrf_token,
    fast_hashing,
    last_link,
    mails_to,
    post_form,
    session_cookie,
    settle,
    sign_in,
    signed_in_user,
)
from tests.web.two_factor_support import EMAIL, enrolled_and_signed_out

JSON = {"Accept": "application/json"}
OTHER = "bob@example.com"
PASSKEY_ID = re.compile(r'data-passkey="(\d+)"')
CHANGED = "A sign-in method of your account changed"


def post_json(client: Client, path: str, body: object = None) -> Response:
    """What web/static/passkeys.js sends: JSON, with the page's CSRF token in the header."""
    return client.post(path, json=body or {}, headers={**JSON, "x-csrftoken": csrf_token(client)})


def options(client: Client, path: str, body: object = None) -> str:
    answer = post_json(client, path, body)
    assert answer.status_code == 200, answer.text
    return json.dumps(answer.json()["options"])


def add_passkey(client: Client, name: str = "Laptop", **headers: str) -> tuple[Credential, Response]:
    credential, response = authenticator.create(options(client, "/account/passkeys/options"), TEST_BASE_URL)
    added = post_form(
        client,
        "/account/passkeys",
        {"name": name, "response": response},
        headers=headers,
        follow_redirects=False,
    )
    return credential, added


def passkey_sign_in(client: Client, credential: Credential, **kw: object) -> Response:
    answer = authenticator.get(options(client, "/auth/passkey/options"), TEST_BASE_URL, credential)
    return post_form(client, "/auth/passkey", {"response": answer}, follow_redirects=False, **kw)  # type: ignore[arg-type]


def sign_out(client: Client) -> None:
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    assert not session_cookie(client)


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The `auth.event=` names logged so far."""
    lines = [r.getMessage() for r in caplog.records if r.name == "remote_stack.auth"]
    return [line.split()[0].removeprefix("auth.event=") for line in lines]


def test_passkey_card_adds_signs_in_renames_and_deletes(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    fast_hashing(client)
    signed_in_user(client, EMAIL)
    page = client.get("/account")
    assert 'id="account_passkeys"' in page.text and "data-empty-state" in page.text
    # htmx: the card comes back with the new passkey and says so.
    credential, added = add_passkey(client, "  Work   laptop ", **HTMX)
    assert added.status_code == 200, added.text
    assert added.text.lstrip().startswith('<section id="account_passkeys"')
    assert "Work laptop" in added.text and "added" in added.text and "data-never-used" in added.text
    assert "max-age=0" in added.headers["set-cookie"].lower()  # the ceremony's binding is spent
    [passkey_id] = PASSKEY_ID.findall(added.text)
    sign_out(client)

    signed = passkey_sign_in(client, credential)
    assert signed.status_code == 303 and signed.headers["location"] == "/", signed.text
    assert session_cookie(client)
    card = client.get("/account").text
    assert "data-last-used" in card and "data-never-used" not in card

    # Without JavaScript: plain posts, redirected back to the account page with a flash.
    renamed = post_form(
        client, f"/account/passkeys/{passkey_id}/rename", {"name": "Phone"}, follow_redirects=False
    )
    assert renamed.status_code == 303 and renamed.headers["location"] == "/account"
    assert "data-passkey-name>Phone<" in client.get("/account").text
    deleted = post_form(client, f"/account/passkeys/{passkey_id}/delete", {}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/account"
    assert "data-passkey=" not in client.get("/account").text
    assert [m.subject for m in mails_to(client, EMAIL)].count(CHANGED) == 2  # added, removed
    sign_out(client)
    refused = passkey_sign_in(client, credential)
    assert refused.status_code == 422 and not session_cookie(client)
    logged = events(caplog)
    for name in (
        "passkey.added",
        "passkey.used",
        "passkey.renamed",
        "passkey.removed",
        "passkey.sign_in_failure",
    ):
        assert name in logged, (name, logged)


def test_passkey_functions_refuse_other_users_bad_input_and_signed_out_callers(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, EMAIL)
    _, added = add_passkey(client)
    assert added.status_code == 303
    [theirs] = PASSKEY_ID.findall(client.get("/account").text)
    sign_out(client)

    signed_in_user(client, OTHER, "Bob")
    for headers in (JSON, HTMX, {}):
        rename = post_form(client, f"/account/passkeys/{theirs}/rename", {"name": "Mine"}, headers=headers)
        delete = post_form(client, f"/account/passkeys/{theirs}/delete", {}, headers=headers)
        assert rename.status_code == delete.status_code == 404, (headers, rename.text)
    for bad_id in ("0", "-1", "abc", "99999999999", "1.5"):
        for action in ("rename", "delete"):
            answer = post_form(client, f"/account/passkeys/{bad_id}/{action}", {"name": "x"}, headers=JSON)
            assert 400 <= answer.status_code < 500, (bad_id, action, answer.status_code)
    long_name = post_form(client, f"/account/passkeys/{theirs}/rename", {"name": "x" * 101}, headers=JSON)
    assert long_name.status_code == 422 and "name" in long_name.json()["errors"]

    garbage = ["", "{", "[]", '{"id": 1}', "x" * 70_000]
    for response in garbage:
        options(client, "/account/passkeys/options")
        answer = post_form(client, "/account/passkeys", {"name": "x", "response": response}, headers=JSON)
        assert answer.status_code in (413, 422), answer.status_code
        answer = post_json(client, "/account/passkeys", {"response": response, "extra": 1})
        assert answer.status_code == 422
    # No ceremony started in this browser (no binding cookie): refused, not an error.
    client.cookies.delete("passkey_binding")
    assert post_form(client, "/account/passkeys", {"response": "{}"}, headers=JSON).status_code == 422
    sign_out(client)

    assert post_json(client, "/account/passkeys/options").status_code == 401
    for path in (
        "/account/passkeys",
        f"/account/passkeys/{theirs}/rename",
        f"/account/passkeys/{theirs}/delete",
    ):
        answer = post_form(client, path, {"name": "x"}, headers=JSON)
        assert answer.status_code == 401, path
    plain = post_form(client, f"/account/passkeys/{theirs}/delete", {}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/auth/sign-in")
    for response in garbage:
        options(client, "/auth/passkey/options")
        answer = post_form(client, "/auth/passkey", {"response": response}, headers=JSON)
        assert answer.status_code in (413, 422, 429), answer.status_code
        answer = post_form(client, "/auth/sign-up/passkey", {"response": response}, headers=HTMX)
        assert answer.status_code in (413, 422), answer.status_code
    assert not session_cookie(client)
    # The passkey that other user could not touch is still there.
    assert passkey_count(client, EMAIL) == 1


def passkey_count(client: Client, email: str) -> int:
    from domain.auth.tables import Passkey
    from tests.web.auth_support import run

    async def count() -> int:
        return int(await Passkey.count().where(Passkey.user.email == email))

    return run(client, count)


def test_passkey_sign_in_satisfies_two_factor(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    held = sign_in(client, EMAIL, follow_redirects=False)
    assert held.headers["location"] == "/auth/two-factor"
    assert post_form(client, "/auth/two-factor", {"code": two.code()}).status_code == 200
    credential, added = add_passkey(client)
    assert added.status_code == 303
    sign_out(client)
    signed = passkey_sign_in(client, credential)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert session_cookie(client)
    assert client.get("/account").status_code == 200


def test_passkey_sign_in_goes_to_next_and_refuses_another_rp_id(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, EMAIL)
    credential, _ = add_passkey(client)
    sign_out(client)
    # The same key asserting for another site: its authenticator data names another RP id hash.
    credential.rp_id = "other.example"
    refused = passkey_sign_in(client, credential, headers=HTMX)
    assert refused.status_code == 422 and "could not be used" in refused.text
    assert refused.text.lstrip().startswith('<section id="auth_sign_in"')
    assert not session_cookie(client)
    credential.rp_id = "testserver.local"
    answer = authenticator.get(options(client, "/auth/passkey/options"), TEST_BASE_URL, credential)
    signed = post_form(
        client,
        "/auth/passkey",
        {"response": answer, "next": "/account"},
        headers=HTMX,
        follow_redirects=False,
    )
    assert signed.status_code == 200 and signed.headers["hx-redirect"] == "/account"
    assert session_cookie(client)


def test_passkey_only_sign_up_confirms_then_signs_in(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    bad = post_json(client, "/auth/sign-up/passkey/options", {"name": "", "email": "not an address"})
    assert bad.status_code == 422 and {"name", "email"} <= bad.json()["errors"].keys()
    assert post_json(client, "/auth/sign-up/passkey/options", {"nope": 1}).status_code == 422
    created = options(
        client, "/auth/sign-up/passkey/options", {"name": "Grace", "email": "grace@example.com"}
    )
    credential, response = authenticator.create(created, TEST_BASE_URL)
    sent = post_form(client, "/auth/sign-up/passkey", {"response": response}, headers=HTMX)
    assert sent.status_code == 200 and "Check your email" in sent.text and "grace@example.com" in sent.text
    settle(client)
    assert {"sign_up", "passkey.added"} <= set(events(caplog))
    # Followed in this browser (it holds the sign-up binding), the link signs in and keeps the passkey.
    assert client.get(last_link(client, "grace@example.com")).status_code == 200
    assert session_cookie(client)
    account = client.get("/account").text
    assert "Set a password" in account and "data-passkey=" in account
    sign_out(client)
    signed = passkey_sign_in(client, credential)
    assert signed.status_code == 303 and session_cookie(client)


@pytest.mark.parametrize("path", ["/", "/auth/sign-in", "/auth/sign-up", "/account"])
def test_pages_load_the_passkey_script_and_offer_autofill(client: Client, path: str) -> None:
    fast_hashing(client)
    if path == "/account":
        signed_in_user(client, EMAIL)
    page = client.get(path)
    assert '<script src="/static/passkeys.js" defer></script>' in page.text
    if path == "/auth/sign-in":
        assert 'autocomplete="username webauthn"' in page.text and "data-passkey-sign-in hidden" in page.text
    script = client.get("/static/passkeys.js")
    assert script.status_code == 200 and "navigator.credentials.create" in script.text


def test_passkey_options_are_rate_limited_per_address(client: Client) -> None:
    """Each options call keeps a challenge in Redis: a flood from one address is refused, not stored."""
    answers = [post_json(client, "/auth/passkey/options").status_code for _ in range(31)]
    assert answers[:30] == [200] * 30 and answers[30] == 429
