"""A real server on 127.0.0.1 whose BASE_URL is its own address, and a signed-in HTTP client for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from domain.mail import dev_mail_dir, list_stored
from tests.support.server import RunningApp, free_port, running_app, wait_until

PASSWORD = "correct horse battery"
LINK = re.compile(r"https?://\S+token=\S+")


@contextmanager
def served_app(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """`python app.py serve` with one worker, BASE_URL set to where it listens."""
    port = free_port()
    full_env = {"BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING", **(env or {})}
    with running_app(data_dir, env=full_env, port=port) as app:
        yield app


def csrf_headers(client: httpx.Client, base_url: str) -> dict[str, str]:
    """What a same-origin htmx request carries: the CSRF token (minted if needed) and the Origin."""
    token = client.cookies.get("csrftoken")
    if not token:
        client.get("/auth/sign-in")
        token = client.cookies.get("csrftoken")
    assert token, "no csrftoken cookie"
    return {"x-csrftoken": token, "origin": base_url}


def post_form(client: httpx.Client, base_url: str, path: str, data: dict[str, str]) -> httpx.Response:
    """A same-origin form post with the CSRF field, the way the page's own form sends it."""
    headers = csrf_headers(client, base_url)
    return client.post(path, data={**data, "_csrf_token": headers["x-csrftoken"]}, headers=headers)


def mail_link(data_dir: Path, email: str) -> str:
    """The path and query of the newest emailed link to `email` (waits for the mail to be written)."""
    found: list[str] = []

    def arrived() -> bool:
        for mail in list_stored(dev_mail_dir(data_dir)):
            match = LINK.search(mail.text)
            if mail.to == email and match:
                parts = urlsplit(match.group(0))
                found.append(f"{parts.path}?{parts.query}")
                return True
        return False

    wait_until(arrived, 10, f"a mail with a link to {email}")
    return found[0]


def sign_up_verified(
    app: RunningApp, email: str, name: str = "Ada", password: str = PASSWORD
) -> httpx.Client:
    """A client that signed up as `email` and followed the confirmation link (not signed in)."""
    client = httpx.Client(base_url=app.base_url, timeout=30, follow_redirects=True)
    answer = post_form(
        client, app.base_url, "/auth/sign-up", {"name": name, "email": email, "password": password}
    )
    assert answer.status_code == 200, answer.text
    assert client.get(mail_link(app.data_dir, email)).status_code == 200
    return client


def sign_up_and_in(app: RunningApp, email: str, name: str = "Ada", password: str = PASSWORD) -> httpx.Client:
    """A client signed in as a new, verified user; its cookie jar holds the session and a CSRF token."""
    client = sign_up_verified(app, email, name, password)
    answer = post_form(client, app.base_url, "/auth/sign-in", {"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    assert any(cookie.name.endswith("session") for cookie in client.cookies.jar)
    # Sign-in rotates the CSRF token: load a page to get the new one.
    client.get("/")
    return client
