"""Auth with production settings: `__Host-` Secure cookie, mail over SMTP, no /dev/mail."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from domain.mail import body_text
from settings import Settings
from tests.support.smtp_sink import SmtpSink
from tests.web.auth_support import LINK, PASSWORD, fast_hashing, post_form

BASE = "https://app.example"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink("plain").start()
    yield server
    server.stop()


def test_production_sign_up_by_smtp_and_host_prefixed_secure_cookie(
    settings: Settings, sink: SmtpSink
) -> None:
    from app import create_app

    production = settings.with_overrides(app_env="production", base_url=BASE, smtp_url=sink.url)
    with TestClient(app=create_app(production), base_url=BASE) as client:
        fast_hashing(client)
        assert client.get("/dev/mail").status_code == 404
        response = post_form(
            client, "/auth/sign-up", {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        )
        assert response.status_code == 200
        received = sink.next_message()
        assert received.rcpt_tos == ["ada@example.com"]
        link = LINK.search(body_text(received.message, "plain"))
        assert link and link.group(0).startswith(f"{BASE}/auth/verify?token=")
        parts = urlsplit(link.group(0))
        assert client.get(f"{parts.path}?{parts.query}").status_code == 200
        assert not list((production.data_dir / "mail").glob("*.eml"))

        response = post_form(
            client,
            "/auth/sign-in",
            {"email": "ada@example.com", "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("__Host-session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert client.get("/account").status_code == 200
