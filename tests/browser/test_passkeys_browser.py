"""Passkeys in Chromium with a virtual authenticator (DevTools' WebAuthn domain through Playwright).

The server's BASE_URL names localhost: the relying party id is its host, and WebAuthn takes a
domain there, never an IP address. localhost is a secure context over plain http.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import RunningApp

pytest.importorskip("playwright")
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from tests.browser.support import PASSWORD, chromium, open_user_menu, served_app, verification_link

EMAIL = "ada@example.com"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with served_app(tmp_path_factory, "browser-passkeys", host="localhost") as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


class Authenticator:
    """A virtual platform authenticator (fingerprint already given) attached to one page."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.cdp: CDPSession = context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})[
            "authenticatorId"
        ]

    def credentials(self) -> list[dict[str, Any]]:
        return list(self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"])


# Chromium's virtual authenticator answers an autofill (conditional) request at once, as if the user
# picked the passkey; a test of the button turns autofill off, like a browser without it.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"


def new_page(browser: Browser, *, autofill: bool = False) -> tuple[BrowserContext, Page, Authenticator]:
    context = browser.new_context()
    if not autofill:
        context.add_init_script(NO_AUTOFILL)
    page = context.new_page()
    return context, page, Authenticator(context, page)


def signed_up(page: Page, app: RunningApp, email: str, name: str) -> None:
    """A password account, signed in by its confirmation link (sign-ins per IP are few: 5 a minute)."""
    page.goto(f"{app.base_url}/auth/sign-up")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(verification_link(app, email))
    signed_in(page, name)


def signed_in(page: Page, name: str) -> None:
    expect(page.locator("#user-menu summary")).to_contain_text(name)


def sign_out(page: Page) -> None:
    open_user_menu(page).get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()


def session_cookies(context: BrowserContext) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"] in {"session", "__Host-session"}]


def sign_in_with_passkey(page: Page, app: RunningApp) -> None:
    page.goto(f"{app.base_url}/auth/sign-in")
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")
    page.get_by_role("button", name="Sign in with a passkey").click()


def test_register_sign_in_rename_and_delete_a_passkey(server: RunningApp, browser: Browser) -> None:
    context, page, authenticator = new_page(browser)
    signed_up(page, server, EMAIL, "Ada")

    page.goto(f"{server.base_url}/account")
    card = page.locator("#account_passkeys")
    expect(card.get_by_text("You have no passkeys yet")).to_be_visible()
    expect(card.get_by_text("needs JavaScript")).to_be_hidden()
    card.get_by_label("Label for a new passkey").fill("Laptop")
    card.get_by_role("button", name="Add a passkey").click()
    expect(card.get_by_role("status")).to_contain_text('Passkey "Laptop" added')
    expect(card.locator("[data-passkey-name]")).to_have_text(["Laptop"])
    expect(card.locator("[data-never-used]")).to_be_visible()
    [credential] = authenticator.credentials()
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]

    sign_out(page)
    sign_in_with_passkey(page, server)
    signed_in(page, "Ada")
    assert authenticator.credentials()[0]["signCount"] > credential["signCount"]
    page.goto(f"{server.base_url}/account")
    expect(card.locator("[data-last-used]")).to_be_visible()

    card.get_by_label("New label for Laptop").fill("Phone")
    card.get_by_role("button", name="Rename").click()
    expect(card.get_by_role("status")).to_contain_text('renamed to "Phone"')
    expect(card.locator("[data-passkey-name]")).to_have_text(["Phone"])

    # Without JavaScript: no way to add one (WebAuthn needs it), but deleting is a plain form.
    plain = browser.new_context(java_script_enabled=False)
    other = plain.new_page()
    other.goto(f"{server.base_url}/auth/sign-in")
    expect(other.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    plain.add_cookies(
        [{"name": c["name"], "value": c["value"], "url": server.base_url} for c in context.cookies()]
    )
    other.goto(f"{server.base_url}/account")
    plain_card = other.locator("#account_passkeys")
    expect(plain_card.get_by_text("needs JavaScript")).to_be_visible()
    expect(plain_card.get_by_role("button", name="Add a passkey")).to_be_hidden()
    plain_card.get_by_role("button", name="Delete").click()
    expect(other).to_have_url(f"{server.base_url}/account")
    expect(plain_card.get_by_text("You have no passkeys yet")).to_be_visible()
    plain.close()

    # The authenticator still holds the key, but the server no longer accepts it.
    sign_out(page)
    sign_in_with_passkey(page, server)
    expect(page.locator("#auth_sign_in").get_by_role("alert")).to_contain_text("could not be used")
    assert not session_cookies(context)
    context.close()


def test_delete_with_htmx_swaps_the_card(server: RunningApp, browser: Browser) -> None:
    context, page, _ = new_page(browser)
    signed_up(page, server, "lin@example.com", "Lin")
    page.goto(f"{server.base_url}/account")
    card = page.locator("#account_passkeys")
    card.get_by_role("button", name="Add a passkey").click()
    expect(card.locator("[data-passkey-name]")).to_have_text(["Passkey"])
    card.get_by_role("button", name="Delete").click()
    expect(card.get_by_role("status")).to_contain_text("Passkey deleted")
    expect(card.get_by_text("You have no passkeys yet")).to_be_visible()
    context.close()


def test_sign_up_with_only_a_passkey_then_sign_back_in_by_autofill(
    server: RunningApp, browser: Browser
) -> None:
    context, page, authenticator = new_page(browser, autofill=True)
    page.goto(f"{server.base_url}/auth/sign-up")
    page.get_by_label("Name").fill("Grace")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Sign up with a passkey instead").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    assert len(authenticator.credentials()) == 1
    # The link, followed in the browser that signed up, confirms the address and signs in.
    page.goto(verification_link(server, "grace@example.com"))
    signed_in(page, "Grace")
    page.goto(f"{server.base_url}/account")
    expect(page.get_by_role("heading", name="Set a password")).to_be_visible()
    expect(page.locator("#account_passkeys [data-passkey-name]")).to_have_text(["Passkey"])
    sign_out(page)
    # Autofill: the sign-in page asks for a passkey with mediation "conditional" as it loads; the
    # virtual authenticator answers as a user picking it from the email field's suggestions would.
    page.goto(f"{server.base_url}/auth/sign-in")
    signed_in(page, "Grace")
    expect(page).to_have_url(f"{server.base_url}/")
    assert authenticator.credentials()[0]["signCount"] > 0
    context.close()


def test_a_passkey_for_another_site_is_not_offered_and_signs_no_one_in(
    server: RunningApp, browser: Browser
) -> None:
    context, page, authenticator = new_page(browser)
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    authenticator.cdp.send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": authenticator.id,
            "credential": {
                "credentialId": base64.b64encode(b"another-site-credential").decode(),
                "isResidentCredential": True,
                "rpId": "other.example",
                "privateKey": base64.b64encode(pkcs8).decode(),
                "userHandle": base64.b64encode(b"someone-elsewhere").decode(),
                "signCount": 0,
            },
        },
    )
    sign_in_with_passkey(page, server)
    expect(page.locator("#auth_sign_in").get_by_role("alert")).to_contain_text("No passkey was used")
    assert not session_cookies(context)
    # Never used: the browser scopes a credential to its RP id, so this site never saw an answer from it.
    assert [c["signCount"] for c in authenticator.credentials()] == [0]
    context.close()
