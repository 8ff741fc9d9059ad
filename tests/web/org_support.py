"""Helpers for the organization tests: people in their own browsers, org forms posted as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from httpx import Response

from domain.auth.tables import Session
from domain.orgs.tables import Invitation, Membership, Organization
from tests.web.auth_support import (
    Browser,
    Client,
    fast_hashing,
    last_link,
    post_form,
    run,
    signed_in_user,
)

PAGE = {"Accept": "text/html"}


class Person:
    """A signed-up, confirmed, signed-in user with a browser (cookie jar) of their own."""

    def __init__(self, client: Client, email: str, name: str) -> None:
        self.client = client
        self.email = email
        self.name = name
        self.browser = Browser(client)
        with self.browser.active() as c:
            fast_hashing(c)
            signed_in_user(c, email, name)

    @contextmanager
    def active(self) -> Iterator[Client]:
        with self.browser.active() as c:
            yield c

    def get(self, path: str) -> Response:
        """A browser's page visit (asks for HTML; remote queries answer JSON otherwise)."""
        with self.active() as c:
            return c.get(path, headers=PAGE)

    def post(self, path: str, data: dict[str, str] | None = None) -> Response:
        """A plain (no-JS) form post; redirects are not followed, so the status is the answer's own."""
        with self.active() as c:
            return post_form(c, path, data or {}, follow_redirects=False)

    def create_org(self, name: str, slug: str = "") -> str:
        answer = self.post("/orgs", {"name": name, "slug": slug})
        assert answer.status_code == 303, answer.text
        return answer.headers["location"].rsplit("/", 1)[-1]

    def invite_link(self) -> str:
        return last_link(self.client, self.email)


def membership_id(client: Client, slug: str, email: str) -> int:
    async def find() -> int:
        row = (
            await Membership.select(Membership.id)
            .where((Membership.organization.slug == slug) & (Membership.user.email == email))
            .first()
        )
        assert row is not None, (slug, email)
        return int(row["id"])

    return run(client, find)


def role_of(client: Client, slug: str, email: str) -> str | None:
    async def find() -> str | None:
        row = (
            await Membership.select(Membership.role)
            .where((Membership.organization.slug == slug) & (Membership.user.email == email))
            .first()
        )
        return None if row is None else str(row["role"])

    return run(client, find)


def invitation_id(client: Client, slug: str, email: str) -> int:
    async def find() -> int:
        row = (
            await Invitation.select(Invitation.id)
            .where((Invitation.organization.slug == slug) & (Invitation.email == email))
            .first()
        )
        assert row is not None, (slug, email)
        return int(row["id"])

    return run(client, find)


def org_exists(client: Client, slug: str) -> bool:
    async def find() -> bool:
        return bool(await Organization.exists().where(Organization.slug == slug))

    return run(client, find)


def invite(inviter: Person, slug: str, email: str, role: str = "member") -> Response:
    return inviter.post(f"/orgs/{slug}/invitations", {"email": email, "role": role})


def join(inviter: Person, slug: str, person: Person, role: str = "member") -> None:
    """`inviter` invites `person`, who accepts from the mailed link."""
    assert invite(inviter, slug, person.email, role).status_code == 303
    token = token_of(person.invite_link())
    answer = person.post("/invitations/accept", {"token": token})
    assert answer.status_code == 303, answer.text
    assert role_of(inviter.client, slug, person.email) == role


def token_of(link: str) -> str:
    match = re.search(r"token=([^&]+)", link)
    assert match, link
    return match.group(1)


def session_id(client: Client, email: str) -> int:
    """The newest session of the user with `email`."""

    async def find() -> int:
        row = (
            await Session.select(Session.id)
            .where(Session.user.email == email)
            .order_by(Session.id, ascending=False)
            .first()
        )
        assert row is not None
        return int(row["id"])

    return run(client, find)
