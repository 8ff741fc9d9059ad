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
        device = next(v for v in response.headers.get_list("set-cookie") if v.startswith("__Host-device="))
        assert "Secure" in device and "HttpOnly" in device and "Path=/" in device and "Domain" not in device
        assert client.get("/account").status_code == 200


def test_production_behind_two_proxies_records_the_hop_counted_client_for_any_host_case(
    settings: Settings, sink: SmtpSink
) -> None:
    from app import create_app

    production = settings.with_overrides(
        app_env="production", base_url=BASE, smtp_url=sink.url, trusted_proxy_hops=2
    )
    # The client wrote 6.6.6.6; the edge proxy appended 203.0.113.9, the inner proxy 10.1.1.1.
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.1.1", "Host": "App.EXAMPLE"}
    with TestClient(app=create_app(production), base_url=BASE) as client:
        fast_hashing(client)
        assert client.get("/auth/sign-in", headers=forwarded).status_code == 200
        form = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        assert post_form(client, "/auth/sign-up", form, headers=forwarded).status_code == 200
        link = LINK.search(body_text(sink.next_message().message, "plain"))
        assert link
        parts = urlsplit(link.group(0))
        assert client.get(f"{parts.path}?{parts.query}", headers=forwarded).status_code == 200
        form = {"email": "ada@example.com", "password": PASSWORD}
        assert post_form(client, "/auth/sign-in", form, headers=forwarded).status_code == 200
        page = client.get("/account", headers=forwarded)
    assert page.status_code == 200
    assert "203.0.113.9" in page.text and "6.6.6.6" not in page.text
