"""Users, sessions and tokens on PostgreSQL (runs when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from litestar.testing import TestClient

from domain.auth.tables import Account, Session
from settings import Settings
from tests.conftest import TEST_BASE_URL
from tests.web.auth_support import (
    PASSWORD,
    Browser,
    fast_hashing,
    last_link,
    post_form,
    run,
    session_cookie,
    sign_in,
    sign_up,
)


def test_auth_flows_on_postgres(settings: Settings, postgres_url: str) -> None:
    from app import create_app

    with TestClient(
        app=create_app(settings.with_overrides(database_url=postgres_url)), base_url=TEST_BASE_URL
    ) as client:
        fast_hashing(client)
        assert sign_up(client, "Ada@Example.com").status_code == 200
        # The same address in other case is the same account.
        assert sign_up(client, "ADA@example.COM").status_code == 200
        assert client.get(last_link(client, "ada@example.com")).status_code == 200
        assert client.get(last_link(client, "ada@example.com")).status_code == 400

        other = Browser(client)
        with other.active() as browser:
            assert sign_in(browser, "ada@example.com").status_code == 200
        assert sign_in(client, "ada@example.com").status_code == 200
        assert session_cookie(client)
        assert client.get("/account").status_code == 200

        async def counts() -> tuple[int, int]:
            return await Account.count(), await Session.count()

        assert run(client, counts) == (1, 2)
        response = post_form(client, "/account/sessions/revoke-others", {})
        assert response.status_code == 200
        with other.active() as browser:
            assert browser.get("/account", follow_redirects=False).status_code == 303

        response = post_form(
            client, "/account/password", {"current_password": PASSWORD, "new_password": "a new one here"}
        )
        assert response.status_code == 200
        assert post_form(client, "/account/delete", {"current_password": "a new one here"}).status_code == 200
        assert run(client, counts) == (0, 0)
