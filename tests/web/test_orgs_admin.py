"""The admin panel lists organizations, members and invitations: no token hash, never an org without owner."""

from __future__ import annotations

import logging

import pytest

from tests.web.admin_support import signed_in_admin
from tests.web.auth_support import Client
from tests.web.org_support import Person, invitation_id, invite, join, membership_id, org_exists, role_of
from tests.web.test_admin import API_HEADERS, piccolo_headers


def test_admin_lists_organizations_and_members_and_keeps_an_owner(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    alice = Person(client, "alice@example.com", "Alice")
    bob = Person(client, "bob@example.com", "Bob")
    slug = alice.create_org("Acme")
    join(alice, slug, bob)
    invite(alice, slug, "pending@example.com")
    signed_in_admin(client)
    client.get("/admin/")

    orgs = client.get("/admin/api/tables/organizations/", headers=API_HEADERS)
    assert orgs.status_code == 200
    assert [(r["name"], r["slug"]) for r in orgs.json()["rows"]] == [("Acme", slug)]
    members = client.get("/admin/api/tables/memberships/", params={"__readable": "true"}, headers=API_HEADERS)
    assert members.status_code == 200
    assert sorted(r["role"] for r in members.json()["rows"]) == ["member", "owner"]
    invitations = client.get("/admin/api/tables/invitations/", headers=API_HEADERS)
    assert [r["email"] for r in invitations.json()["rows"]] == ["pending@example.com"]
    assert "token_hash" not in invitations.text

    # Made with an owner by the app only; the last owner's membership stays.
    created = client.post(
        "/admin/api/tables/organizations/", json={"name": "X", "slug": "x"}, headers=piccolo_headers(client)
    )
    assert created.status_code == 405
    owner = membership_id(client, slug, alice.email)
    refused = client.delete(f"/admin/api/tables/memberships/{owner}/", headers=piccolo_headers(client))
    assert refused.status_code == 409
    assert role_of(client, slug, alice.email) == "owner"
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        member = membership_id(client, slug, bob.email)
        gone = client.delete(f"/admin/api/tables/memberships/{member}/", headers=piccolo_headers(client))
        assert gone.status_code == 204
        revoked = client.delete(
            f"/admin/api/tables/invitations/{invitation_id(client, slug, 'pending@example.com')}/",
            headers=piccolo_headers(client),
        )
        assert revoked.status_code == 204
        org_id = orgs.json()["rows"][0]["id"]
        deleted = client.delete(f"/admin/api/tables/organizations/{org_id}/", headers=piccolo_headers(client))
        assert deleted.status_code == 204
    assert role_of(client, slug, bob.email) is None
    assert "auth.event=admin.org_member_removed " in caplog.text
    assert "auth.event=admin.org_deleted " in caplog.text
    assert not org_exists(client, slug)
    assert role_of(client, slug, alice.email) is None
