"""No tenant reaches another's rows: every organization route, given another tenant's slug or ids, 404s.

The routes come from the app itself, so a route added under /orgs is walked without editing this
test; a path parameter this test cannot fill makes it fail, asking for one more line here.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from litestar.routes import HTTPRoute

from tests.web.auth_support import Client, csrf_token
from tests.web.org_support import Person, invitation_id, invite, join, membership_id, org_exists, role_of

PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# The routes known today; more may come (they are walked too), none of these may disappear unseen.
KNOWN = {
    ("GET", "/orgs/{slug}"),
    ("POST", "/orgs/{slug}/switch"),
    ("POST", "/orgs/{slug}/invitations"),
    ("POST", "/orgs/{slug}/invitations/{invitation_id}/revoke"),
    ("POST", "/orgs/{slug}/members/{member_id}/role"),
    ("POST", "/orgs/{slug}/members/{member_id}/remove"),
    ("POST", "/orgs/{slug}/members/{member_id}/transfer"),
    ("POST", "/orgs/{slug}/leave"),
    ("POST", "/orgs/{slug}/delete"),
}
# Organization routes that name no organization: the caller's own list, and creating one.
UNSCOPED = {"/orgs"}
# What only the victim's own members may read: it must not show up in any answer to Mallory.
SECRETS = ("Victim", "wendy@example.com", "pending@example.com", "victor@example.com")
ACCEPTS = ({"Accept": "text/html"}, {"Accept": "application/json"}, {"HX-Request": "true"})


def org_routes(client: Client) -> list[tuple[str, str]]:
    """(method, path) of every organization route, path parameters written `{name}`."""
    found: list[tuple[str, str]] = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/orgs") or route.path in UNSCOPED:
            continue
        path = PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        assert path.startswith("/orgs/{slug}"), f"{path}: organization routes start /orgs/{{slug}}"
        found.extend((method, path) for method in sorted(route.methods) if method not in {"HEAD", "OPTIONS"})
    return found


def fill(template: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{template}: teach the tenancy test a value for {{{name}}}"
        return values[name]

    return PARAM.sub(one, template)


def test_every_org_route_answers_404_for_another_tenants_slug_and_ids(client: Client) -> None:
    victor = Person(client, "victor@example.com", "Victor")
    wendy = Person(client, "wendy@example.com", "Wendy")
    mallory = Person(client, "mallory@example.com", "Mallory")
    mel = Person(client, "mel@example.com", "Mel")
    victim = victor.create_org("Victim")
    join(victor, victim, wendy, "admin")
    invite(victor, victim, "pending@example.com", "admin")
    own = mallory.create_org("Mallory")
    join(mallory, own, mel)
    invite(mallory, own, "other@example.com")
    theirs = {
        "slug": victim,
        "member_id": str(membership_id(client, victim, wendy.email)),
        "invitation_id": str(invitation_id(client, victim, "pending@example.com")),
    }
    victor_owner = str(membership_id(client, victim, victor.email))

    routes = org_routes(client)
    assert set(routes) >= KNOWN, KNOWN - set(routes)
    walked = 0
    with mallory.active() as c:
        token = csrf_token(c)
        for method, template in routes:
            # Their slug with their ids; then Mallory's own slug with their ids (and their owner's).
            attempts = [fill(template, theirs)]
            if PARAM.findall(template) != ["slug"]:
                attempts.append(fill(template, {**theirs, "slug": own}))
                attempts.append(fill(template, {**theirs, "slug": own, "member_id": victor_owner}))
            for path in attempts:
                # Valid-looking fields, so a scoping bug would really act (the slug typed to delete).
                form = {"_csrf_token": token, "role": "owner", "email": "m@example.com", "confirm": victim}
                for headers in ACCEPTS:
                    answer = c.request(
                        method,
                        path,
                        data=form if method != "GET" else None,
                        headers={**headers, "x-csrftoken": token},
                        follow_redirects=False,
                    )
                    assert answer.status_code == 404, (
                        method,
                        path,
                        headers,
                        answer.status_code,
                        answer.text[:200],
                    )
                    assert not any(secret in answer.text for secret in SECRETS), (method, path)
                    walked += 1
    assert walked >= len(KNOWN) * len(ACCEPTS)
    # Nothing of theirs changed, and Mallory's own organization is intact too.
    assert org_exists(client, victim) and org_exists(client, own)
    assert role_of(client, victim, victor.email) == "owner"
    assert role_of(client, victim, wendy.email) == "admin"
    assert role_of(client, victim, mallory.email) is None
    assert invitation_id(client, victim, "pending@example.com")
    assert role_of(client, own, mallory.email) == "owner" and role_of(client, own, mel.email) == "member"
    # Their pages never list on Mallory's: not in her organizations, not in her header menu.
    listing = mallory.get("/orgs").text
    assert f'href="/orgs/{victim}"' not in listing and f"/orgs/{victim}/switch" not in listing


IDS = ("member_id", "invitation_id")
GARBAGE = (
    "x",
    "-",
    "A" * 300,
    "\u00b2",
    "9" * 4301,
    str(2**31),
    "0",
    "-1",
    "%00",
    "\U0010d0df\x1d\u00f6",
)


def test_org_routes_refuse_garbage_without_a_server_error(client: Client) -> None:
    """Any slug or id a client can type answers 404 or 422 (never a 5xx), for every kind of caller."""
    owner = Person(client, "owner@example.com", "Owner")
    own = owner.create_org("Mine")
    with owner.active() as c:
        token = csrf_token(c)
        for method, template in org_routes(client):
            for value in GARBAGE:
                # Her own slug only where an id follows: the garbage is then in the id.
                for slug in (value, own) if PARAM.findall(template) != ["slug"] else (value,):
                    path = fill(
                        template, {"slug": quote(slug, safe=""), **dict.fromkeys(IDS, quote(value, safe=""))}
                    )
                    for headers in ACCEPTS:
                        form = {"_csrf_token": token, "role": value, "email": value, "confirm": value}
                        answer = c.request(
                            method,
                            path,
                            data=form if method != "GET" else None,
                            headers={**headers, "x-csrftoken": token},
                            follow_redirects=False,
                        )
                        assert answer.status_code in {403, 404, 409, 422}, (
                            method,
                            path,
                            headers,
                            answer.status_code,
                        )
    assert org_exists(client, own)
