"""No enumeration: every flow answers, sets cookies and mails the requester alike, registered or free."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from httpx import Response

from domain.auth.core import AuthLimits, Limit
from tests.web.auth_support import (
    HTMX,
    PASSWORD,
    Browser,
    Client,
    auth_of,
    fast_hashing,
    mails,
    post_form,
    sign_up,
    signed_in_user,
    verified_user,
)

VERIFIED = "taken@example.com"
PENDING = "pending@example.com"
FREE = "free@example.com"
REQUESTER = "ada@example.com"
PLENTY = Limit(1000, 60)


@pytest.fixture(autouse=True)
def _setup(client: Client) -> None:
    fast_hashing(client)
    auth_of(client).limits = AuthLimits(sign_in=PLENTY, reset=PLENTY, sign_up=PLENTY, password_check=PLENTY)


def _normalize(text: str, email: str) -> str:
    text = re.sub(r'name="_csrf_token" value="[^"]*"', "", text)
    text = re.sub(r'"x-csrftoken": "[^"]*"', "", text)
    text = re.sub(r'data-request-id="[^"]*"', "", text)
    return text.replace(email, "EMAIL").replace(email.replace("@", "%40"), "EMAIL")


def _cookie_names(response: Response) -> list[str]:
    return sorted(h.split("=", 1)[0] for h in response.headers.get_list("set-cookie"))


# flow -> (path, form for the address asked about)
FLOWS: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "sign_up": (
        "/auth/sign-up",
        lambda e: {"name": "Someone", "email": e, "password": "another long passphrase"},
    ),
    "sign_in": ("/auth/sign-in", lambda e: {"email": e, "password": "not the password at all"}),
    "forgot_password": ("/auth/forgot-password", lambda e: {"email": e}),
    "resend_verification": ("/auth/resend-verification", lambda e: {"email": e}),
    "email_change": ("/account/email", lambda e: {"new_email": e, "current_password": PASSWORD}),
}


@pytest.mark.parametrize("htmx", [False, True], ids=["browser", "htmx"])
@pytest.mark.parametrize("flow", list(FLOWS))
def test_enumeration_every_flow_answers_and_mails_the_requester_alike(
    client: Client, flow: str, htmx: bool
) -> None:
    verified_user(client, VERIFIED)
    sign_up(client, PENDING)  # an address whose sign-up is not confirmed yet
    requester = Browser(client)
    with requester.active() as browser:
        if flow == "email_change":
            signed_in_user(browser, REQUESTER)
        else:
            browser.get("/auth/sign-in")
    path, form = FLOWS[flow]
    seen: dict[str, tuple[int, str, list[str], list[tuple[str, str]]]] = {}
    for email in (VERIFIED, PENDING, FREE):
        before = len(mails(client))
        with requester.active() as browser:
            response = post_form(browser, path, form(email), headers=HTMX if htmx else None)
        # What reaches the requester's side: mail to any address but the one asked about.
        to_requester = [
            (m.subject, m.text.replace(email, "EMAIL")) for m in mails(client)[before:] if m.to != email
        ]
        seen[email] = (
            response.status_code,
            _normalize(response.text, email),
            _cookie_names(response),
            to_requester,
        )
    assert seen[VERIFIED] == seen[PENDING] == seen[FREE]
