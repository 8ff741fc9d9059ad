"""Sign-in links by email from the browser: ask on the sign-in page, follow the link, confirm elsewhere."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote

from httpx import Response

from domain.auth.clock import utc_now
from domain.auth.tables import Verification
from tests.web.auth_support import (
    HTMX,
    Browser,
    Client,
    fast_hashing,
    last_link,
    mails_to,
    post_form,
    run,
    session_cookie,
    verified_user,
)
from tests.web.two_factor_support import (
    EMAIL,
    JSON,
    enrolled_and_signed_out,
    nothing_signed_in_answers,
    set_cookies,
)
from web.auth.magic_links import SENT

FREE = "nobody@example.com"
CSRF_VALUE = re.compile(r'value="[^"]*"')


def ask_for_link(client: Client, email: str = EMAIL, **fields: str) -> Response:
    """The sign-in form posted to "Email me a sign-in link" without JavaScript (not following the 303)."""
    return post_form(client, "/auth/magic-link/send", {"email": email, **fields}, follow_redirects=False)


def mailed_link(client: Client, email: str = EMAIL) -> str:
    link = last_link(client, email)
    assert link.startswith("/auth/magic-link?token="), link
    return link


def registered(client: Client) -> None:
    fast_hashing(client)
    verified_user(client, EMAIL)


def cookie_names(response: Response) -> list[str]:
    return sorted(c.split("=", 1)[0] for c in set_cookies(response))


def test_the_sign_in_page_offers_a_sign_in_link(client: Client) -> None:
    page = client.get("/auth/sign-in")
    assert page.status_code == 200
    assert 'formaction="/auth/magic-link/send"' in page.text and "Email me a sign-in link" in page.text


def test_a_mailed_link_signs_in_the_browser_that_asked(client: Client) -> None:
    registered(client)
    asked = ask_for_link(client)
    assert asked.status_code == 303 and asked.headers["location"] == "/auth/sign-in"
    assert cookie_names(asked) == ["flash", "magic_binding"]
    assert not session_cookie(client)
    back = client.get(asked.headers["location"])
    assert SENT in html.unescape(back.text)
    followed = client.get(mailed_link(client), follow_redirects=False)
    assert followed.status_code == 303 and followed.headers["location"] == "/"
    assert session_cookie(client)
    [spent] = [c for c in set_cookies(followed) if c.startswith("magic_binding=")]
    assert "max-age=0" in spent.lower()
    assert client.get("/account").status_code == 200


def test_the_link_works_once(client: Client) -> None:
    registered(client)
    ask_for_link(client)
    link = mailed_link(client)
    assert client.get(link).status_code == 200 and session_cookie(client)
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    again = client.get(link, follow_redirects=False)
    assert again.status_code == 400 and "invalid or has expired" in again.text
    assert 'href="/auth/sign-in"' in again.text and not session_cookie(client)


def test_an_expired_link_is_refused(client: Client) -> None:
    registered(client)
    ask_for_link(client)
    link = mailed_link(client)

    async def expire() -> None:
        await Verification.update({Verification.expires_at: utc_now() - timedelta(seconds=1)}, force=True)

    run(client, expire)
    refused = client.get(link, follow_redirects=False)
    assert refused.status_code == 400 and "invalid or has expired" in refused.text
    confirm = post_form(client, "/auth/magic-link", {"token": link.split("token=", 1)[1]})
    assert confirm.status_code == 400 and "invalid or has expired" in confirm.text
    assert not session_cookie(client)


def test_another_browser_is_asked_to_confirm_and_confirming_signs_it_in(client: Client) -> None:
    registered(client)
    ask_for_link(client)
    link = mailed_link(client)
    token = link.split("token=", 1)[1]
    other = Browser(client)
    with other.active() as phone:
        # Opening it (a mail scanner, a preview) only asks: twice, and the link still works.
        for _ in range(2):
            asked = phone.get(link, follow_redirects=False)
            assert asked.status_code == 200 and "Sign in on this device?" in asked.text
            assert EMAIL in asked.text and f'name="token" value="{token}"' in asked.text
            assert not session_cookie(phone)
        confirmed = post_form(phone, "/auth/magic-link", {"token": token}, follow_redirects=False)
        assert confirmed.status_code == 303 and confirmed.headers["location"] == "/"
        assert session_cookie(phone) and phone.get("/account").status_code == 200
    # Used up there: the browser that asked gets the dead-link page.
    assert client.get(link).status_code == 400 and not session_cookie(client)


def test_confirming_with_htmx_loads_the_signed_in_page(client: Client) -> None:
    registered(client)
    ask_for_link(client)
    token = mailed_link(client).split("token=", 1)[1]
    with Browser(client).active() as phone:
        done = post_form(phone, "/auth/magic-link", {"token": token}, headers=HTMX)
        assert done.status_code == 200 and done.headers.get("hx-redirect") == "/"
        assert session_cookie(phone)
        dead = post_form(phone, "/auth/magic-link", {"token": token}, headers=HTMX)
        assert dead.status_code == 400 and 'id="auth_magic_link"' in dead.text and "<html" not in dead.text
        assert "invalid or has expired" in dead.text and 'name="token"' not in dead.text


def test_the_same_answer_for_a_free_address(client: Client) -> None:
    registered(client)
    known, free = ask_for_link(client, EMAIL), ask_for_link(client, FREE)
    assert (known.status_code, known.headers["location"]) == (free.status_code, free.headers["location"])
    assert cookie_names(known) == cookie_names(free)
    known_htmx = post_form(client, "/auth/magic-link/send", {"email": EMAIL}, headers=HTMX)
    free_htmx = post_form(client, "/auth/magic-link/send", {"email": FREE}, headers=HTMX)
    assert known_htmx.status_code == free_htmx.status_code == 200
    assert SENT in html.unescape(known_htmx.text) and 'id="auth_sign_in"' in known_htmx.text
    assert CSRF_VALUE.sub("", known_htmx.text).replace(EMAIL, FREE) == CSRF_VALUE.sub("", free_htmx.text)
    assert mails_to(client, FREE) == []
    assert len([m for m in mails_to(client, EMAIL) if m.subject == "Your sign-in link"]) == 2


def test_the_sign_in_page_keeps_its_next_and_the_link_is_asked_with_htmx(client: Client) -> None:
    registered(client)
    asked = ask_for_link(client, next="/account")
    assert (
        asked.status_code == 303
        and asked.headers["location"] == f"/auth/sign-in?next={quote('/account', safe='')}"
    )
    swapped = post_form(client, "/auth/magic-link/send", {"email": EMAIL, "next": "/account"}, headers=HTMX)
    assert swapped.status_code == 200 and "<html" not in swapped.text
    assert f'value="{EMAIL}"' in swapped.text and 'name="next" value="/account"' in swapped.text


def test_requests_are_rate_limited(client: Client) -> None:
    registered(client)
    assert [ask_for_link(client).status_code for _ in range(5)] == [303] * 5
    refused = ask_for_link(client)
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert f'value="{EMAIL}"' in refused.text
    htmx = post_form(client, "/auth/magic-link/send", {"email": EMAIL}, headers=HTMX)
    assert htmx.status_code == 429 and 'id="auth_sign_in"' in htmx.text
    as_json = client.post(
        "/auth/magic-link/send",
        json={"email": EMAIL},
        headers={**JSON, "x-csrftoken": client.cookies["csrftoken"]},
    )
    assert as_json.status_code == 429
    assert len([m for m in mails_to(client, EMAIL) if m.subject == "Your sign-in link"]) == 5


def test_a_bad_address_is_shown_in_the_form(client: Client) -> None:
    refused = ask_for_link(client, "not an address")
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert 'value="not an address"' in refused.text and not refused.headers.get("location")


def test_bad_tokens_never_give_a_server_error(client: Client) -> None:
    registered(client)
    tokens = [
        "",
        "x",
        "a" * 5000,
        "%00",
        "\u202e\u0000",
        "token=1&token=2",
        "../../etc/passwd",
        "' OR 1=1 --",
    ]
    csrf = client.cookies["csrftoken"]
    for token in tokens:
        page = client.get("/auth/magic-link", params={"token": token}, follow_redirects=False)
        assert page.status_code == 400, (token, page.status_code)
        for headers in ({}, HTMX):
            posted = post_form(client, "/auth/magic-link", {"token": token}, headers=headers)
            assert posted.status_code == 400, (token, posted.status_code)
        as_json = client.post(
            "/auth/magic-link", json={"token": token}, headers={**JSON, "x-csrftoken": csrf}
        )
        assert as_json.status_code == 400, (token, as_json.status_code)
    odd = [{"token": 1}, {"token": None}, {"token": ["a"]}, [], "token"]
    for body in odd:
        answer = client.post("/auth/magic-link", json=body, headers={**JSON, "x-csrftoken": csrf})
        assert answer.status_code in {400, 422}, (body, answer.status_code)
    assert client.get("/auth/magic-link?token=a&token=b").status_code == 400
    assert not session_cookie(client)


def test_two_factor_is_not_skipped_by_a_link(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    ask_for_link(client)
    magic_binding = client.cookies["magic_binding"]
    held = client.get(mailed_link(client), follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"] == "/auth/two-factor"
    assert not session_cookie(client)
    # The hold has a secret of its own, not the one the request left in the browser.
    assert client.cookies["signin_binding"] not in {"", magic_binding}
    nothing_signed_in_answers(client)
    done = post_form(client, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
    assert done.status_code == 303 and session_cookie(client)


def test_two_factor_is_asked_on_the_device_that_confirmed(client: Client) -> None:
    two = enrolled_and_signed_out(client)
    ask_for_link(client)
    token = mailed_link(client).split("token=", 1)[1]
    with Browser(client).active() as phone:
        held = post_form(phone, "/auth/magic-link", {"token": token}, follow_redirects=False)
        assert held.status_code == 303 and held.headers["location"] == "/auth/two-factor"
        assert not session_cookie(phone) and phone.get("/account", follow_redirects=False).status_code == 303
        done = post_form(phone, "/auth/two-factor", {"code": two.code()}, follow_redirects=False)
        assert done.status_code == 303 and session_cookie(phone)
    assert not session_cookie(client)
