"""Two-factor sign-in from the browser: enrol on the account page, then a password alone starts no session."""

from __future__ import annotations

import html

import pyotp

from tests.web.auth_support import (
    HTMX,
    PASSWORD,
    Client,
    auth_of,
    fast_hashing,
    last_link,
    post_form,
    session_cookie,
    sign_in,
    signed_in_user,
)
from tests.web.two_factor_support import (
    BACKUP_CODES,
    EMAIL,
    JSON,
    AheadClock,
    Enrolled,
    enrolled_and_signed_out,
    nothing_signed_in_answers,
    password_step,
    set_cookies,
)


def test_a_password_alone_starts_no_session_and_a_code_finishes_the_sign_in(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    held = password_step(client)
    assert held.status_code == 303 and held.headers["location"] == "/auth/two-factor"
    assert [c.split("=", 1)[0] for c in set_cookies(held)] == ["signin_binding"]
    step = client.get("/auth/two-factor")
    assert step.status_code == 200 and "6-digit code" in step.text and "backup code" in step.text
    done = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert session_cookie(client)
    cookies = {c.split("=", 1)[0]: c for c in set_cookies(done)}
    assert {"session", "device"} <= cookies.keys()
    assert "max-age=0" in cookies["signin_binding"].lower()
    assert client.get("/account").status_code == 200


def test_a_reused_code_is_refused(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    code = two.code()
    assert post_form(client, "/auth/two-factor", {"code": code}).status_code == 200
    assert session_cookie(client)
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    password_step(client)
    again = post_form(client, "/auth/two-factor", {"code": code}, follow_redirects=False)
    assert again.status_code == 422 and "already used" in again.text
    assert not session_cookie(client)


def test_a_backup_code_signs_in_once(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    used = two.backup_codes[0]
    assert post_form(client, "/auth/two-factor", {"code": used}, follow_redirects=False).status_code == 303
    assert session_cookie(client)
    assert "9 backup codes left" in client.get("/account").text
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    password_step(client)
    refused = post_form(client, "/auth/two-factor", {"code": used}, follow_redirects=False)
    assert refused.status_code == 422 and "not right" in refused.text
    assert not session_cookie(client)


def test_wrong_codes_are_rate_limited_per_account(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    statuses = [
        post_form(client, "/auth/two-factor", {"code": "000000"}, follow_redirects=False).status_code
        for _ in range(5)
    ]
    # Confirming the enrolment spent one of the account's five attempts a minute.
    assert statuses[:4] == [422] * 4 and statuses[4] == 429
    right = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert right.status_code == 429 and "Too many attempts" in right.text
    assert not session_cookie(client)
    as_json = client.post(
        "/auth/two-factor",
        json={"code": two.code()},
        headers={**JSON, "x-csrftoken": client.cookies["csrftoken"]},
    )
    assert as_json.status_code == 429 and not session_cookie(client)


def test_the_code_step_needs_the_browser_that_gave_the_password(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    client.cookies.delete("signin_binding")
    refused = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert refused.status_code == 422 and not session_cookie(client)


def test_a_binding_planted_before_the_password_does_not_name_the_hold(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    planted = "p" * 43
    client.cookies.set("signin_binding", planted)
    held = password_step(client)
    [fresh] = [c for c in set_cookies(held) if c.startswith("signin_binding=")]
    assert not fresh.startswith(f"signin_binding={planted};")
    client.cookies.delete("signin_binding")
    client.cookies.set("signin_binding", planted)
    refused = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert refused.status_code == 422 and not session_cookie(client)


def test_with_htmx_the_sign_in_goes_to_the_code_step(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    held = password_step(client, **HTMX)
    assert held.headers.get("hx-redirect") == "/auth/two-factor"
    wrong = post_form(client, "/auth/two-factor", {"code": "123456"}, headers=HTMX)
    assert wrong.status_code == 422 and 'id="auth_two_factor"' in wrong.text and "<html" not in wrong.text
    done = post_form(client, "/auth/two-factor", {"code": two.code()}, headers=HTMX)
    assert done.headers.get("hx-redirect") == "/" and session_cookie(client)


def test_a_password_reset_does_not_skip_the_second_factor(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    assert post_form(client, "/auth/forgot-password", {"email": EMAIL}).status_code == 200
    link = last_link(client, EMAIL)
    token = link.split("token=", 1)[1]
    new_password = "a brand new passphrase"
    reset = post_form(client, "/auth/reset-password", {"token": token, "password": new_password})
    assert reset.status_code == 200 and not session_cookie(client)
    held = sign_in(client, EMAIL, new_password, follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"] == "/auth/two-factor"
    assert not session_cookie(client)
    assert post_form(client, "/auth/two-factor", {"code": two.code()}).status_code == 200
    assert session_cookie(client)


def test_disabling_needs_the_password_and_a_code(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    password_step(client)
    assert post_form(client, "/auth/two-factor", {"code": two.code()}).status_code == 200
    wrong_password = post_form(
        client,
        "/account/two-factor/disable",
        {"password": "not the password", "code": two.code()},
        follow_redirects=False,
    )
    assert wrong_password.status_code == 422
    no_code = post_form(
        client, "/account/two-factor/disable", {"password": PASSWORD, "code": ""}, follow_redirects=False
    )
    assert no_code.status_code == 422
    off = post_form(client, "/account/two-factor/disable", {"password": PASSWORD, "code": two.code()})
    assert off.status_code == 200 and 'data-two-factor="off"' in off.text
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    assert sign_in(client, EMAIL).status_code == 200 and session_cookie(client)


def test_the_whole_flow_as_json(client: Client) -> None:
    """Without a browser: the answers say what to do next, and still no session before the code."""
    fast_hashing(client)
    clock = AheadClock()
    auth_of(client).clock = clock
    signed_in_user(client, EMAIL)
    csrf = {**JSON, "x-csrftoken": client.cookies["csrftoken"]}
    enrolment = client.post("/account/two-factor/enrol", headers=csrf).json()
    assert "<svg" in enrolment["qr_svg"] and enrolment["manual_key"]
    app = pyotp.TOTP(pyotp.parse_uri(enrolment["uri"]).secret)
    codes = client.post("/account/two-factor/confirm", json={"code": app.at(clock())}, headers=csrf)
    assert codes.status_code == 200 and len(codes.json()["backup_codes"]) == 10
    assert client.post("/auth/sign-out", headers=csrf).status_code == 200
    csrf = {**JSON, "x-csrftoken": client.cookies.get("csrftoken") or ""}
    if not client.cookies.get("csrftoken"):
        client.get("/auth/sign-in")
        csrf["x-csrftoken"] = client.cookies["csrftoken"]
    held = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD}, headers=csrf)
    assert held.status_code == 200 and held.json() == {
        "second_step": "/auth/two-factor",
        "second_factor_required": True,
    }
    assert not session_cookie(client)
    clock.next_step()
    done = client.post("/auth/two-factor", json={"code": app.at(clock())}, headers=csrf)
    assert done.status_code == 200 and done.json()["email"] == EMAIL and session_cookie(client)


def test_the_second_factor_cannot_be_skipped(client: Client) -> None:
    """Between the password and the code, every signed-in page and function answers "not signed in"."""
    two = enrolled_and_signed_out(client)
    password_step(client)
    assert client.cookies.get("signin_binding")
    nothing_signed_in_answers(client)
    # The held sign-in is untouched by all that: the code step still finishes it afterwards.
    assert "Enter the 6-digit code" in html.unescape(client.get("/auth/two-factor").text)
    done = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert done.status_code == 303 and session_cookie(client)


def signed_in_with_a_code(client: Client) -> Enrolled:
    two = enrolled_and_signed_out(client)
    password_step(client)
    assert post_form(client, "/auth/two-factor", {"code": two.code()}).status_code == 200
    assert session_cookie(client)
    return two


def test_new_backup_codes_replace_the_old_ones_without_javascript(client: Client) -> None:
    two = signed_in_with_a_code(client)
    made = post_form(client, "/account/two-factor/backup-codes", {"code": two.code()}, follow_redirects=False)
    # The page itself, not a redirect: the new codes exist only in this answer.
    assert made.status_code == 200 and "<html" in made.text and "old ones no longer work" in made.text
    codes = BACKUP_CODES.findall(made.text)
    assert len(set(codes)) == 10 and not set(codes) & set(two.backup_codes)
    assert "10 backup codes left" in made.text
    page = client.get("/account")
    assert "10 backup codes left" in page.text and not BACKUP_CODES.findall(page.text)
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    password_step(client)
    old = post_form(client, "/auth/two-factor", {"code": two.backup_codes[0]}, follow_redirects=False)
    assert old.status_code == 422 and "not right" in old.text and not session_cookie(client)
    new = post_form(client, "/auth/two-factor", {"code": codes[0]}, follow_redirects=False)
    assert new.status_code == 303 and session_cookie(client)
    assert "9 backup codes left" in client.get("/account").text


def test_new_backup_codes_need_a_current_code(client: Client) -> None:
    two = signed_in_with_a_code(client)
    for headers in ({}, HTMX):
        wrong = post_form(client, "/account/two-factor/backup-codes", {"code": "000000"}, headers=headers)
        assert wrong.status_code == 422 and not BACKUP_CODES.findall(wrong.text)
        # The error is shown beside the field that was posted, not beside the turn-off form's.
        assert 'id="two_factor_regenerate-code-error"' in wrong.text
        assert 'id="two_factor_disable-code-error"' not in wrong.text
    assert "<html" not in wrong.text and 'id="account_two_factor"' in wrong.text
    made = post_form(client, "/account/two-factor/backup-codes", {"code": two.code()}, headers=HTMX)
    assert made.status_code == 200 and "<html" not in made.text
    assert len(BACKUP_CODES.findall(made.text)) == 10 and "10 backup codes left" in made.text
