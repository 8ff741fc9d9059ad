"""End-to-end auth flows over HTTP, as a browser (forms, redirects) and as htmx (partials, HX-Redirect)."""

from __future__ import annotations

import pytest

from tests.web.auth_support import (
    HTMX,
    PASSWORD,
    Client,
    fast_hashing,
    last_link,
    mails_to,
    post_form,
    session_cookie,
    sign_in,
    sign_up,
    signed_in_user,
    verified_user,
)


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def test_sign_up_verify_sign_in_sign_out_as_browser(client: Client) -> None:
    response = sign_up(client, "Ada@Example.com", name="Ada Lovelace")
    assert response.status_code == 200
    assert "Check your email" in response.text and "ada@example.com" in response.text
    assert "<html" in response.text

    link = last_link(client, "ada@example.com")
    assert link.startswith("/auth/verify?token=")
    # Opened in the browser that signed up, the link signs in.
    verified = client.get(link, follow_redirects=False)
    assert verified.status_code == 303 and verified.headers["location"] == "/"
    assert session_cookie(client) and "Ada Lovelace" in client.get("/").text
    client.cookies.delete("session")

    response = sign_in(client, "ADA@example.com", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert session_cookie(client)

    home = client.get("/")
    assert "Ada Lovelace" in home.text and "Welcome back, Ada Lovelace." in home.text
    assert client.get("/account").status_code == 200

    response = client.post(
        "/auth/sign-out", data={"_csrf_token": client.cookies["csrftoken"]}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert not session_cookie(client)
    assert client.get("/account", follow_redirects=False).headers["location"] == "/auth/sign-in?next=/account"


def test_sign_up_verify_sign_in_sign_out_with_htmx(client: Client) -> None:
    response = sign_up(client, "grace@example.com", name="Grace", headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="auth_sign_up"') and "<html" not in response.text
    assert client.get(last_link(client, "grace@example.com"), headers=HTMX).status_code == 200

    response = sign_in(client, "grace@example.com", headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"
    assert session_cookie(client)
    assert "Grace" in client.get("/").text

    response = post_form(client, "/auth/sign-out", {}, headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"
    assert not session_cookie(client)


def test_sign_up_field_errors_rerender_form(client: Client) -> None:
    data = {"name": "", "email": "not-an-email", "password": "password123"}
    page = post_form(client, "/auth/sign-up", data)
    assert page.status_code == 422 and "<html" in page.text
    assert "Enter your name." in page.text
    assert "Enter a valid email address" in page.text
    assert "too common" in page.text
    assert 'aria-describedby="sign_up-email-error' in page.text and 'id="sign_up-email-error"' in page.text
    assert 'value="not-an-email"' in page.text and "password123" not in page.text

    partial = post_form(client, "/auth/sign-up", data, headers=HTMX)
    assert partial.status_code == 422 and partial.text.lstrip().startswith('<section id="auth_sign_up"')
    assert "Enter your name." in partial.text
    assert mails_to(client, "not-an-email") == []


def test_password_length_limits(client: Client) -> None:
    short = post_form(client, "/auth/sign-up", {"name": "A", "email": "a@example.com", "password": "x7!Kq2"})
    assert short.status_code == 422 and "at least 8" in short.text
    long = post_form(
        client, "/auth/sign-up", {"name": "A", "email": "a@example.com", "password": "xY7!" * 33}
    )
    assert long.status_code == 422 and "at most 128" in long.text


def test_sign_in_before_verification_is_refused_and_resends_link(client: Client) -> None:
    sign_up(client, "new@example.com")
    assert len(mails_to(client, "new@example.com")) == 1
    response = sign_in(client, "new@example.com")
    assert response.status_code == 403 and "confirm your email" in response.text
    assert not session_cookie(client)
    assert len(mails_to(client, "new@example.com")) == 2
    # Only the newest link works.
    assert client.get(last_link(client, "new@example.com")).status_code == 200
    assert sign_in(client, "new@example.com").status_code == 200


def test_resend_verification(client: Client) -> None:
    sign_up(client, "late@example.com")
    page = client.get("/auth/resend-verification?email=late@example.com")
    assert 'value="late@example.com"' in page.text
    response = post_form(client, "/auth/resend-verification", {"email": "late@example.com"})
    assert response.status_code == 200 and "a new link is on its way" in response.text
    assert len(mails_to(client, "late@example.com")) == 2
    htmx = post_form(client, "/auth/resend-verification", {"email": "late@example.com"}, headers=HTMX)
    assert htmx.text.lstrip().startswith('<section id="auth_resend_verification"')


def test_wrong_password_rerenders_with_message(client: Client) -> None:
    verified_user(client, "ada@example.com")
    response = sign_in(client, "ada@example.com", "wrong password here")
    assert response.status_code == 422 and "Incorrect email or password." in response.text
    assert 'value="ada@example.com"' in response.text and "wrong password here" not in response.text
    htmx = sign_in(client, "ada@example.com", "wrong password here", headers=HTMX)
    assert htmx.status_code == 422 and htmx.text.lstrip().startswith('<section id="auth_sign_in"')


def test_forgot_and_reset_password(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    response = post_form(client, "/auth/forgot-password", {"email": "ada@example.com"})
    assert response.status_code == 200 and "If an account uses that address" in response.text
    link = last_link(client, "ada@example.com")
    assert link.startswith("/auth/reset-password?token=")

    form = client.get(link)
    assert form.status_code == 200 and 'name="token"' in form.text
    token = link.split("token=", 1)[1]
    weak = post_form(client, "/auth/reset-password", {"token": token, "password": "12345678"})
    assert weak.status_code == 422 and "too common" in weak.text
    # A rejected password leaves the link usable.
    response = post_form(
        client,
        "/auth/reset-password",
        {"token": token, "password": "a brand new secret"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in"
    # Reset signs out every session, this browser's included.
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert sign_in(client, "ada@example.com", PASSWORD).status_code == 422
    assert sign_in(client, "ada@example.com", "a brand new secret").status_code == 200


def test_reset_with_htmx(client: Client) -> None:
    verified_user(client, "ada@example.com")
    response = post_form(client, "/auth/forgot-password", {"email": "ada@example.com"}, headers=HTMX)
    assert response.text.lstrip().startswith('<section id="auth_forgot_password"')
    token = last_link(client, "ada@example.com").split("token=", 1)[1]
    response = post_form(
        client, "/auth/reset-password", {"token": token, "password": "another good one"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == "/auth/sign-in"


def test_sign_in_returns_to_next_path(client: Client) -> None:
    verified_user(client, "ada@example.com")
    assert client.get("/account", follow_redirects=False).headers["location"] == "/auth/sign-in?next=/account"
    page = client.get("/auth/sign-in?next=/account")
    assert '<input type="hidden" name="next" value="/account">' in page.text
    response = post_form(
        client,
        "/auth/sign-in",
        {"email": "ada@example.com", "password": PASSWORD, "next": "/account"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account"


@pytest.mark.parametrize(
    "target", ["//evil.com/x", "https://evil.com/", "/\\evil.com", "javascript:alert(1)"]
)
def test_sign_in_ignores_offsite_next(client: Client, target: str) -> None:
    verified_user(client, "ada@example.com")
    response = post_form(
        client,
        "/auth/sign-in",
        {"email": "ada@example.com", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_signed_out_guard_answers_each_caller(client: Client) -> None:
    htmx = client.get("/account", headers=HTMX, follow_redirects=False)
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"].startswith("/auth/sign-in?next=")
    api = client.get("/account", headers={"Accept": "application/json"}, follow_redirects=False)
    assert api.status_code == 401 and api.json()["error"]


def test_dev_mail_page_lists_messages(client: Client) -> None:
    sign_up(client, "ada@example.com", name="<b>Ada</b>")
    page = client.get("/dev/mail")
    assert page.status_code == 200 and "Confirm your email address" in page.text
    name = page.text.split("/dev/mail?name=", 1)[1].split('"', 1)[0]
    message = client.get(f"/dev/mail?name={name}")
    assert "/auth/verify?token=" in message.text and "&lt;b&gt;Ada&lt;/b&gt;" in message.text
    assert client.get("/dev/mail?name=../app.sqlite3").status_code == 404


def test_sign_up_with_taken_email_answers_the_same_and_mails_the_owner(client: Client) -> None:
    verified_user(client, "ada@example.com")
    response = sign_up(client, "ADA@example.com", name="Mallory")
    assert response.status_code == 200 and "Check your email" in response.text
    assert mails_to(client, "ada@example.com")[-1].subject == "You already have an account"
