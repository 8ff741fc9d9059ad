"""Helpers for the admin tests: users made through the operator use cases, signed in through the app."""

from __future__ import annotations

from domain.admin.users import create_admin, set_admin
from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher
from tests.web.auth_support import PASSWORD, Client, fast_hashing, run, sign_in, signed_in_user

ADMIN_EMAIL = "root@example.com"


def signed_in_admin(client: Client, email: str = ADMIN_EMAIL) -> None:
    """An admin made the way `python app.py createadmin` makes one, then signed in with the app's form."""
    fast_hashing(client)
    run(client, create_admin, email, "Root", PASSWORD, PasswordHasher(OWASP_MINIMUM))
    response = sign_in(client, email)
    assert response.status_code == 200, response.text
    assert client.cookies.get("session")


def signed_in_member(client: Client, email: str = "ada@example.com") -> None:
    fast_hashing(client)
    signed_in_user(client, email)


def demote(client: Client, email: str = ADMIN_EMAIL) -> None:
    run(client, set_admin, email, False)


def promote(client: Client, email: str) -> None:
    run(client, set_admin, email, True)
