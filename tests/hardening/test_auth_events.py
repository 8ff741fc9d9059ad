"""Auth events: admin access and refusals, password reset and session revocation are logged, never secrets."""

from __future__ import annotations

import logging

import pytest

from tests.web.admin_support import signed_in_admin, signed_in_member
from tests.web.auth_support import PASSWORD, Client, fast_hashing, last_link, post_form, signed_in_user


def auth_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "remote_stack.auth"]


def test_admin_access_is_logged_without_secrets(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    signed_in_admin(client)
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin-tools/actors").status_code == 200
    lines = auth_lines(caplog)
    assert any(line.startswith("auth.event=admin.access user_id=") and "path=/" in line for line in lines)
    assert any("admin.access" in line and "path=/admin-tools/actors" in line for line in lines)
    session = client.cookies.get("session") or ""
    for line in lines:
        assert PASSWORD not in line and (not session or session not in line)


def test_admin_refusal_is_logged_as_a_warning(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    signed_in_member(client)
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin-tools/actors").status_code == 403
    denied = [r for r in caplog.records if r.getMessage().startswith("auth.event=admin.denied ")]
    assert len(denied) == 2 and all(r.levelno == logging.WARNING for r in denied)


def test_reset_and_revocation_are_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    fast_hashing(client)
    signed_in_user(client, "ada@example.com")
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    assert post_form(client, "/auth/forgot-password", {"email": "ada@example.com"}).status_code == 200
    link = last_link(client, "ada@example.com")
    token = link.split("token=", 1)[1]
    new_password = "a brand new secret"
    response = post_form(client, "/auth/reset-password", {"token": token, "password": new_password})
    assert response.status_code == 200
    lines = auth_lines(caplog)
    assert any(line.startswith("auth.event=password_reset.requested ") for line in lines)
    assert any(line.startswith("auth.event=password_reset.completed user_id=") for line in lines)
    assert any(line.startswith("auth.event=session.revoke_all user_id=") for line in lines)
    text = "\n".join(lines)
    assert token not in text and new_password not in text and "ada@example.com" not in text
