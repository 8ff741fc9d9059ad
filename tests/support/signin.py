"""Sign a user up, verify and sign in against a served app over real HTTP (mail read from DATA_DIR/mail)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from domain.mail import dev_mail_dir, list_stored
from tests.support.server import wait_until

PASSWORD = "correct horse battery"
LINK = re.compile(r"https?://\S+token=\S+")


def browser(base_url: str) -> httpx.Client:
    """A client that sends what a browser sends on same-origin form posts (Origin, Sec-Fetch-Site)."""
    return httpx.Client(
        base_url=base_url,
        headers={"Origin": base_url, "Sec-Fetch-Site": "same-origin"},
        timeout=15,
        follow_redirects=True,
    )


def csrf_of(client: httpx.Client) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        client.get("/auth/sign-in")
        token = client.cookies.get("csrftoken")
    assert token, "no csrftoken cookie after loading the sign-in page"
    return token


def verification_link(data_dir: Path, email: str, timeout: float = 20) -> str:
    """The path of the newest link mailed to `email` (the app writes mail in the background)."""
    found: list[str] = []

    def mailed() -> bool:
        for mail in list_stored(dev_mail_dir(data_dir)):
            match = LINK.search(mail.text) if mail.to == email else None
            if match:
                parts = urlsplit(match.group(0))
                found.append(f"{parts.path}?{parts.query}")
                return True
        return False

    wait_until(mailed, timeout, f"a verification mail to {email} in {dev_mail_dir(data_dir)}")
    return found[0]


def signed_in(base_url: str, data_dir: Path, email: str, name: str = "Ada") -> httpx.Client:
    """A new client holding a session for a freshly signed-up, verified user."""
    client = browser(base_url)
    fields = {"name": name, "email": email, "password": PASSWORD, "_csrf_token": csrf_of(client)}
    response = client.post("/auth/sign-up", data=fields)
    assert response.status_code == 200, response.text
    assert client.get(verification_link(data_dir, email)).status_code == 200
    return signed_in_again(base_url, email, client)


def signed_in_again(base_url: str, email: str, client: httpx.Client | None = None) -> httpx.Client:
    """A client (a new one by default) holding a new session of an existing, verified user."""
    client = client or browser(base_url)
    fields = {"email": email, "password": PASSWORD, "_csrf_token": csrf_of(client)}
    response = client.post("/auth/sign-in", data=fields)
    assert response.status_code == 200, response.text
    assert client.cookies.get("session") or client.cookies.get("__Host-session"), "no session cookie"
    return client


def user_id_of(client: httpx.Client) -> str:
    """The signed-in user's id (their per-user actors' id) from `get_user_profile`."""
    response = client.get("/_remote/get_user_profile", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
