"""Helpers for the auth tests: CSRF-aware form posts and reading the mail the app wrote."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from httpx import Response
from litestar import Litestar
from litestar.testing import TestClient

from actors.connection import RedisClient
from domain.auth.core import Auth
from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher
from domain.auth.tables import User
from domain.mail import StoredMail, dev_mail_dir, list_stored

Client = TestClient[Litestar]
PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true"}
LINK = re.compile(r"https?://\S+")
T = TypeVar("T")


def auth_of(client: Client) -> Auth:
    auth = client.app.state.services.auth
    assert isinstance(auth, Auth)
    return auth


def fast_hashing(client: Client) -> None:
    """OWASP's minimum argon2id cost: still real argon2id, four times quicker than the default."""
    auth_of(client).hasher = PasswordHasher(OWASP_MINIMUM)


def csrf_token(client: Client) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        client.get("/auth/sign-in")
        token = client.cookies.get("csrftoken")
    assert token
    return token


def post_form(
    client: Client,
    path: str,
    data: dict[str, str],
    headers: dict[str, str] | None = None,
    follow_redirects: bool = True,
) -> Response:
    return client.post(
        path,
        data={**data, "_csrf_token": csrf_token(client)},
        headers=headers or {},
        follow_redirects=follow_redirects,
    )


async def outbox_delivered(redis: RedisClient, timeout: float = 10.0) -> None:
    """Wait until the alarm scheduler has delivered every queued outbox message (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        pending = []
        async for key in redis.scan_iter(match="actor:outbox:{*}", count=1000):
            if await redis.hget(key, "status") in (b"pending", "pending"):  # type: ignore[misc]
                pending.append(key)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} outbox message(s) not delivered within {timeout} s")
        await asyncio.sleep(0.02)


def settle(client: Client) -> None:
    """Wait for the work done after answering (account rows, mail queued) and for the mail's delivery."""
    run(client, auth_of(client).drain)
    run(client, outbox_delivered, client.app.state.services.redis)


def mails(client: Client) -> list[StoredMail]:
    """Every message delivered so far, oldest first."""
    settle(client)
    data_dir: Path = client.app.state.settings.data_dir
    return list(reversed(list_stored(dev_mail_dir(data_dir))))


def mails_to(client: Client, email: str) -> list[StoredMail]:
    return [m for m in mails(client) if m.to == email]


def last_link(client: Client, email: str) -> str:
    """The path (with query) of the link in the newest mail to `email`."""
    for mail in reversed(mails_to(client, email)):
        match = LINK.search(mail.text)
        if match and "token=" in match.group(0):
            parts = urlsplit(match.group(0))
            return f"{parts.path}?{parts.query}"
    raise AssertionError(f"no mail with a link to {email}")


def sign_up(client: Client, email: str, name: str = "Ada", password: str = PASSWORD, **kw: Any) -> Response:
    """Post the sign-up form and wait for the work it does after answering (account row, mail)."""
    response = post_form(client, "/auth/sign-up", {"name": name, "email": email, "password": password}, **kw)
    settle(client)
    return response


def sign_in(client: Client, email: str, password: str = PASSWORD, **kw: Any) -> Response:
    return post_form(client, "/auth/sign-in", {"email": email, "password": password}, **kw)


def verified_user(client: Client, email: str, name: str = "Ada", password: str = PASSWORD) -> None:
    """Sign up and follow the link (which signs this browser in), then leave the browser signed out."""
    assert sign_up(client, email, name, password).status_code == 200
    assert client.get(last_link(client, email)).status_code == 200
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    assert not session_cookie(client)


def signed_in_user(client: Client, email: str, name: str = "Ada", password: str = PASSWORD) -> None:
    verified_user(client, email, name, password)
    response = sign_in(client, email, password)
    assert response.status_code == 200, response.text
    assert session_cookie(client)


def session_cookie(client: Client) -> str | None:
    return client.cookies.get("session")


def user_id(client: Client, email: str) -> int:
    async def find() -> int:
        row = await User.select(User.id).where(User.email == email).first()
        assert row is not None
        return int(row["id"])

    return run(client, find)


def run(client: Client, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a coroutine function on the app's event loop (where its database engine lives)."""
    return client.blocking_portal.call(fn, *args)


class Browser:
    """A second browser on the same client (and so the same running app): its own cookie jar, swapped in."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cookies = httpx.Cookies()

    @contextmanager
    def active(self) -> Iterator[Client]:
        saved = httpx.Cookies(self.client.cookies)
        self.client.cookies = self.cookies
        try:
            yield self.client
        finally:
            self.cookies = httpx.Cookies(self.client.cookies)
            self.client.cookies = saved
