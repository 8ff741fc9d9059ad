"""Organizations: every membership transition and its refusals, invitations, the active organization."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from domain.auth.types import AuthSession, AuthUser
from domain.errors import Forbidden, NotFound
from domain.orgs.members import OrgAccess, accept_invitation
from tests.web.auth_support import HTMX, PASSWORD, Client, auth_of, mails_to, post_form, run, user_id
from tests.web.org_support import (
    Person,
    invitation_id,
    invite,
    join,
    membership_id,
    org_exists,
    role_of,
    session_id,
    token_of,
)
from web.remote import Context

JSON = {"Accept": "application/json"}


@pytest.fixture
def alice(client: Client) -> Person:
    return Person(client, "alice@example.com", "Alice")


@pytest.fixture
def bob(client: Client) -> Person:
    return Person(client, "bob@example.com", "Bob")


def test_creating_an_organization_makes_its_creator_the_owner_and_lists_it(
    client: Client, alice: Person, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        slug = alice.create_org("Acme Widgets")
    assert slug == "acme-widgets"
    assert role_of(client, slug, alice.email) == "owner"
    assert "auth.event=org.create " in caplog.text
    page = alice.get(f"/orgs/{slug}")
    assert page.status_code == 200 and "Acme Widgets" in page.text and "data-my-role>owner<" in page.text
    assert 'href="/orgs/acme-widgets"' in alice.get("/orgs").text
    # A taken slug, an empty name and a bad slug are refusals shown in the form, never a 5xx.
    assert alice.post("/orgs", {"name": "Other", "slug": slug}).status_code == 409
    assert alice.post("/orgs", {"name": "", "slug": ""}).status_code == 422
    assert alice.post("/orgs", {"name": "X", "slug": "-Bad Slug-"}).status_code == 422
    assert alice.post("/orgs", {"name": "x" * 5000}).status_code == 422


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    answer = client.get("/orgs/anything", headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign-in?next=")
    assert post_form(client, "/orgs", {"name": "Nope"}, follow_redirects=False).status_code == 303


def test_invite_accept_and_the_links_rules(
    client: Client, alice: Person, bob: Person, caplog: pytest.LogCaptureFixture
) -> None:
    slug = alice.create_org("Acme")
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        assert invite(alice, slug, "BOB@example.com").status_code == 303
    assert "auth.event=org.invite " in caplog.text
    assert invitation_id(client, slug, bob.email)
    assert 'data-invitation="bob@example.com"' in alice.get(f"/orgs/{slug}").text
    link = bob.invite_link()
    assert link.startswith("/invitations/accept?token=")
    token = token_of(link)

    # The page shows the invitation to anyone holding the link, signed in or not; GET never accepts.
    assert "Join Acme" in client.get(link, headers={"Accept": "text/html"}).text
    assert role_of(client, slug, bob.email) is None
    # Accepting needs a sign-in first ...
    answer = post_form(client, "/invitations/accept", {"token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign-in")
    # ... as the invited address: someone else signed in is refused, and the link still works.
    carol = Person(client, "carol@example.com", "Carol")
    refused = carol.post("/invitations/accept", {"token": token})
    assert refused.status_code == 403 and "bob@example.com" in refused.text
    assert role_of(client, slug, carol.email) is None

    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        accepted = bob.post("/invitations/accept", {"token": token})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/orgs/{slug}"
    assert "auth.event=org.accept " in caplog.text
    assert role_of(client, slug, bob.email) == "member"
    # Single use: the same link again is dead (and the pending invitation is gone).
    assert bob.post("/invitations/accept", {"token": token}).status_code == 404
    assert bob.get(link).status_code == 404
    assert 'data-invitation="bob@example.com"' not in alice.get(f"/orgs/{slug}").text
    # An existing member is not invited again; garbage tokens are a 404, never a 5xx.
    assert invite(alice, slug, bob.email).status_code == 409
    for bad in ("", "x" * 500, "\x00", "%ff"):
        assert bob.post("/invitations/accept", {"token": bad}).status_code == 404
        assert client.get("/invitations/accept", params={"token": bad}).status_code == 404


def test_an_invitation_expires_after_seven_days_and_a_newer_one_replaces_it(
    client: Client, alice: Person, bob: Person
) -> None:
    slug = alice.create_org("Acme")
    invite(alice, slug, bob.email)
    first = token_of(bob.invite_link())
    invite(alice, slug, bob.email, "admin")
    second = token_of(bob.invite_link())
    assert len(mails_to(client, bob.email)) >= 3  # the sign-up link, then two invitations
    assert bob.post("/invitations/accept", {"token": first}).status_code == 404
    auth = auth_of(client)
    real_clock = auth.clock
    auth.clock = lambda: real_clock() + timedelta(days=7, seconds=1)
    try:
        assert bob.post("/invitations/accept", {"token": second}).status_code == 404
    finally:
        auth.clock = real_clock
    assert bob.post("/invitations/accept", {"token": second}).status_code == 303
    assert role_of(client, slug, bob.email) == "admin"


def test_an_unconfirmed_address_cannot_accept(client: Client, alice: Person, bob: Person) -> None:
    """The signed-in user's address must match and be confirmed (a squatter's unconfirmed account cannot)."""
    slug = alice.create_org("Acme")
    invite(alice, slug, bob.email)
    token = token_of(bob.invite_link())
    unconfirmed = AuthUser(id=user_id(client, bob.email), email=bob.email, name="Bob", email_verified=False)
    now = auth_of(client).clock()
    with pytest.raises(Forbidden):
        run(client, accept_invitation, unconfirmed, token, now)
    assert role_of(client, slug, bob.email) is None
    assert bob.post("/invitations/accept", {"token": token}).status_code == 303


def test_members_cannot_manage_and_admins_cannot_touch_owners(
    client: Client, alice: Person, bob: Person
) -> None:
    slug = alice.create_org("Acme")
    join(alice, slug, bob)
    alice_id = membership_id(client, slug, alice.email)
    bob_id = membership_id(client, slug, bob.email)
    # A member may not invite, change roles, remove anyone, transfer or delete.
    assert invite(bob, slug, "x@example.com").status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{alice_id}/role", {"role": "member"}).status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{bob_id}/role", {"role": "admin"}).status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{alice_id}/remove").status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{alice_id}/transfer").status_code == 403
    assert bob.post(f"/orgs/{slug}/delete", {"confirm": slug}).status_code == 403
    # The owner makes Bob an admin: he may invite (not owners), but not demote or remove the owner.
    assert alice.post(f"/orgs/{slug}/members/{bob_id}/role", {"role": "admin"}).status_code == 303
    assert role_of(client, slug, bob.email) == "admin"
    assert invite(bob, slug, "x@example.com").status_code == 303
    assert invite(bob, slug, "y@example.com", "owner").status_code == 403
    invitation = invitation_id(client, slug, "x@example.com")
    assert bob.post(f"/orgs/{slug}/invitations/{invitation}/revoke").status_code == 303
    assert alice.post(f"/orgs/{slug}/invitations/{invitation}/revoke").status_code == 404
    assert bob.post(f"/orgs/{slug}/members/{alice_id}/role", {"role": "member"}).status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{bob_id}/role", {"role": "owner"}).status_code == 403
    assert bob.post(f"/orgs/{slug}/members/{alice_id}/remove").status_code == 403
    assert bob.post(f"/orgs/{slug}/delete", {"confirm": slug}).status_code == 403
    assert role_of(client, slug, alice.email) == "owner"
    # Bad roles are a form error.
    assert alice.post(f"/orgs/{slug}/members/{bob_id}/role", {"role": "emperor"}).status_code == 422


def test_the_last_owner_cannot_leave_be_demoted_or_removed_until_ownership_moves(
    client: Client, alice: Person, bob: Person, caplog: pytest.LogCaptureFixture
) -> None:
    slug = alice.create_org("Acme")
    join(alice, slug, bob)
    alice_id = membership_id(client, slug, alice.email)
    bob_id = membership_id(client, slug, bob.email)
    refused = alice.post(f"/orgs/{slug}/leave")
    assert refused.status_code == 409 and "always has an owner" in refused.text
    assert alice.post(f"/orgs/{slug}/members/{alice_id}/role", {"role": "admin"}).status_code == 409
    assert alice.post(f"/orgs/{slug}/members/{alice_id}/remove").status_code == 409
    assert role_of(client, slug, alice.email) == "owner"

    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        assert alice.post(f"/orgs/{slug}/members/{bob_id}/transfer").status_code == 303
    assert "auth.event=org.transfer " in caplog.text
    assert (role_of(client, slug, alice.email), role_of(client, slug, bob.email)) == ("admin", "owner")
    # Now Bob is the last owner: he cannot leave; Alice (admin) cannot remove him; Alice may leave.
    assert bob.post(f"/orgs/{slug}/leave").status_code == 409
    assert alice.post(f"/orgs/{slug}/members/{bob_id}/remove").status_code == 403
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        left = alice.post(f"/orgs/{slug}/leave")
    assert left.status_code == 303 and left.headers["location"] == "/orgs"
    assert "auth.event=org.leave " in caplog.text
    assert role_of(client, slug, alice.email) is None
    assert alice.get(f"/orgs/{slug}").status_code == 404


def test_owners_remove_members_and_a_second_owner_lets_the_first_leave(
    client: Client, alice: Person, bob: Person, caplog: pytest.LogCaptureFixture
) -> None:
    slug = alice.create_org("Acme")
    join(alice, slug, bob)
    bob_id = membership_id(client, slug, bob.email)
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        assert alice.post(f"/orgs/{slug}/members/{bob_id}/remove").status_code == 303
    assert "auth.event=org.remove " in caplog.text
    assert role_of(client, slug, bob.email) is None
    # Removed: Bob's next request finds nothing, even the page he had open.
    assert bob.get(f"/orgs/{slug}").status_code == 404
    join(alice, slug, bob, "owner")
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        assert alice.post(f"/orgs/{slug}/leave").status_code == 303
    assert role_of(client, slug, bob.email) == "owner"


def test_only_an_owner_deletes_and_only_with_the_slug_typed(
    client: Client, alice: Person, bob: Person, caplog: pytest.LogCaptureFixture
) -> None:
    slug = alice.create_org("Acme")
    join(alice, slug, bob, "admin")
    assert bob.post(f"/orgs/{slug}/delete", {"confirm": slug}).status_code == 403
    assert alice.post(f"/orgs/{slug}/delete", {"confirm": "nope"}).status_code == 422
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        deleted = alice.post(f"/orgs/{slug}/delete", {"confirm": slug})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/orgs"
    assert "auth.event=org.delete " in caplog.text
    assert not org_exists(client, slug)
    assert alice.get(f"/orgs/{slug}").status_code == 404
    assert bob.get(f"/orgs/{slug}").status_code == 404


def test_the_header_menu_switches_the_active_organization_without_javascript(
    client: Client, alice: Person, bob: Person, caplog: pytest.LogCaptureFixture
) -> None:
    first = alice.create_org("First")
    second = alice.create_org("Second")
    # Creating one makes it active; the header lists both, marking the active one.
    home = alice.get("/")
    assert "data-org-menu" in home.text
    assert f'action="/orgs/{first}/switch"' in home.text and f'action="/orgs/{second}/switch"' in home.text
    assert "data-active-org>✓ Second<" in home.text
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        switched = alice.post(f"/orgs/{first}/switch", {"next": "/account"})
    assert switched.status_code == 303 and switched.headers["location"] == "/account"
    assert "auth.event=org.switch " in caplog.text
    assert "data-active-org>✓ First<" in alice.get("/account").text
    # htmx gets a full load to the same place; JSON gets the organization.
    with alice.active() as c:
        answer = post_form(c, f"/orgs/{second}/switch", {"next": "/"}, headers=HTMX, follow_redirects=False)
        assert answer.headers.get("hx-redirect") == "/"
        data = c.post(f"/orgs/{first}/switch", headers={**JSON, "x-csrftoken": c.cookies["csrftoken"]}).json()
        assert data["slug"] == first and data["role"] == "owner"
    # Another tenant's slug cannot become anyone's active organization.
    bob.create_org("Bobs")
    assert bob.post(f"/orgs/{first}/switch").status_code == 404
    assert "data-active-org>✓ Bobs<" in bob.get("/").text


def test_ctx_active_org_follows_the_session_and_membership(
    client: Client, alice: Person, bob: Person
) -> None:
    first = alice.create_org("First")
    second = alice.create_org("Second")
    join(alice, second, bob)
    services = client.app.state.services

    def ctx_for(person: Person, session_id: int) -> Context:
        user = run(client, services.require_auth().sessions.user, user_id(client, person.email))
        assert isinstance(user, AuthUser)
        return Context(
            user=user,
            session=AuthSession(id=session_id, user_id=user.id, expires_at=0),
            maybe_services=services,
        )

    alice_session = session_id(client, alice.email)
    org = run(client, ctx_for(alice, alice_session).active_org)
    assert isinstance(org, OrgAccess) and org.slug == second and org.role == "owner"
    alice.post(f"/orgs/{first}/switch")
    org = run(client, ctx_for(alice, alice_session).require_org, "owner")
    assert org.slug == first
    # The app's tenant hook answers the same organization, for per-org limits, usage and actors.
    assert run(client, ctx_for(alice, alice_session).tenant) == first
    # Bob is a member of Second only: that is his active organization, and admin work is refused.
    bob_ctx = ctx_for(bob, session_id(client, bob.email))
    bob_org = run(client, bob_ctx.active_org)
    assert bob_org is not None and (bob_org.slug, bob_org.role) == (second, "member")
    with pytest.raises(Forbidden):
        run(client, bob_ctx.require_org, "admin")
    with pytest.raises(NotFound):
        run(client, bob_ctx.org_access, first)
    # Removed from Second, Bob has no active organization, whatever his session chose before.
    alice.post(f"/orgs/{second}/members/{membership_id(client, second, bob.email)}/remove")
    removed = ctx_for(bob, session_id(client, bob.email))
    with pytest.raises(NotFound):
        run(client, removed.require_org)
    assert run(client, removed.tenant) is None


def test_deleting_an_account_never_leaves_an_organization_without_an_owner(
    client: Client, alice: Person, bob: Person
) -> None:
    shared = alice.create_org("Shared")
    join(alice, shared, bob)
    solo = alice.create_org("Solo")
    refused = alice.post("/account/delete", {"current_password": PASSWORD})
    assert refused.status_code == 409 and "last owner of Shared" in refused.text
    assert role_of(client, shared, alice.email) == "owner" and org_exists(client, solo)
    alice.post(f"/orgs/{shared}/members/{membership_id(client, shared, bob.email)}/transfer")
    assert alice.post("/account/delete", {"current_password": PASSWORD}).status_code == 303
    # Solo had no one else: it went with her; Shared stays, owned by Bob.
    assert not org_exists(client, solo)
    assert role_of(client, shared, bob.email) == "owner" and role_of(client, shared, alice.email) is None
