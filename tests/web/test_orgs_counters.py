"""An organization's counters: members only, listed with their total from the fleet index, tracked in the
organization's usage, limited per organization, and gone with the organization."""

from __future__ import annotations

import re

import pytest

from actors.counter import CounterActor
from actors.keys import scoped
from tests.web.auth_support import Client, run
from tests.web.org_support import Person, join, tenant_keys
from tests.web.test_orgs_tenancy import ACCEPTS, PARAM, fill, org_routes
from web.functions.counter import ORG_COUNTER_LIMIT
from web.services import Services

JSON = {"Accept": "application/json"}


@pytest.fixture
def alice(client: Client) -> Person:
    return Person(client, "alice@example.com", "Alice")


@pytest.fixture
def bob(client: Client) -> Person:
    return Person(client, "bob@example.com", "Bob")


def services(client: Client) -> Services:
    found: Services = client.app.state.services
    return found


def counter(person: Person, slug: str, name: str) -> int:
    with person.active() as c:
        answer = c.get(f"/orgs/{slug}/counters/{name}", headers=JSON)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["counter"]["count"])


def listed(person: Person, slug: str) -> tuple[dict[str, int], int]:
    """The counters and total the organization page shows."""
    page = person.get(f"/orgs/{slug}").text
    block = page[page.index('id="org_counters_list"') :]
    block = block[: block.index("</div>")]
    counts = {
        name: int(count)
        for name, count in re.findall(r'data-counter="([^"]+)">.*?data-count>(-?\d+)<', block, re.S)
    }
    total = re.search(r"data-total>(-?\d+)<", block)
    assert total is not None
    return counts, int(total.group(1))


def test_members_use_the_counters_and_others_get_404(client: Client, alice: Person, bob: Person) -> None:
    slug = alice.create_org("Acme")
    assert alice.post(f"/orgs/{slug}/counters", {"name": "visits"}).headers["location"] == (
        f"/orgs/{slug}/counters/visits"
    )
    assert alice.get(f"/orgs/{slug}/counters/visits").status_code == 200
    assert alice.post(f"/orgs/{slug}/counters/visits/increment").status_code == 303
    # Not a member: every route of it is a 404, and nothing changes.
    for verb in ("increment", "decrement", "reset", "delete"):
        assert bob.post(f"/orgs/{slug}/counters/visits/{verb}").status_code == 404
    for path in ("", "/events"):
        assert bob.get(f"/orgs/{slug}/counters/visits{path}").status_code == 404
    assert bob.post(f"/orgs/{slug}/counters", {"name": "mine"}).status_code == 404
    assert bob.get(f"/orgs/{slug}/fleet/counters/events").status_code == 404
    assert bob.get(f"/orgs/{slug}/usage").status_code == 404
    assert counter(alice, slug, "visits") == 1
    # A member: the same counter, each change counted once.
    join(alice, slug, bob)
    assert bob.post(f"/orgs/{slug}/counters/visits/increment").status_code == 303
    assert bob.post(f"/orgs/{slug}/counters/visits/increment").status_code == 303
    assert bob.post(f"/orgs/{slug}/counters/visits/decrement").status_code == 303
    assert counter(alice, slug, "visits") == 2
    assert bob.post(f"/orgs/{slug}/counters/visits/reset").status_code == 303
    assert counter(bob, slug, "visits") == 0
    # A name never created is a 404 (no counter springs up by visiting it), a bad one a 422.
    assert alice.get(f"/orgs/{slug}/counters/nothing").status_code == 404
    assert alice.post(f"/orgs/{slug}/counters/nothing/increment").status_code == 404
    assert alice.post(f"/orgs/{slug}/counters", {"name": "no:colons"}).status_code == 422
    # The state lives under the organization's scoped id, not the public counter of the same name.
    state = run(client, services(client).actor(CounterActor).get, scoped(slug, "visits"))
    assert state.version > 0 and run(client, services(client).actor(CounterActor).get, "visits").version == 0


def test_another_tenant_reaches_none_of_an_organizations_counters(client: Client, alice: Person) -> None:
    """Every counter route, with their slug and their counter's name, or her slug and their name: 404."""
    mallory = Person(client, "mallory@example.com", "Mallory")
    victim = alice.create_org("Victim")
    assert alice.post(f"/orgs/{victim}/counters", {"name": "tally"}).status_code == 303
    assert alice.post(f"/orgs/{victim}/counters/tally/increment").status_code == 303
    own = mallory.create_org("Mallory")
    routes = [(m, t) for m, t in org_routes(client) if "/counters" in t]
    assert len(routes) == 8, routes  # the page, its stream, the list's stream, create and four changes
    walked = 0
    with mallory.active() as c:
        token = c.cookies["csrftoken"]
        for method, template in routes:
            slugs = (victim, own) if "counter_name" in PARAM.findall(template) else (victim,)
            for slug in slugs:
                path = fill(template, {"slug": slug, "counter_name": "tally"})
                for headers in ACCEPTS:
                    answer = c.request(
                        method,
                        path,
                        data={"_csrf_token": token, "name": "tally"} if method == "POST" else None,
                        headers={**headers, "x-csrftoken": token},
                        follow_redirects=False,
                    )
                    assert answer.status_code == 404, (method, path, headers, answer.status_code)
                    walked += 1
    assert walked == (6 * 2 + 2) * len(ACCEPTS)
    assert counter(alice, victim, "tally") == 1 and listed(alice, victim) == ({"tally": 1}, 1)
    assert listed(mallory, own) == ({}, 0)


def test_the_org_page_lists_exactly_the_live_counters_with_their_total(client: Client, alice: Person) -> None:
    slug = alice.create_org("Acme")
    assert listed(alice, slug) == ({}, 0)
    names = [f"c{i}" for i in range(6)]
    for i, name in enumerate(names):
        assert alice.post(f"/orgs/{slug}/counters", {"name": name}).status_code == 303
        for _ in range(i):
            assert alice.post(f"/orgs/{slug}/counters/{name}/increment").status_code == 303
    for name in ("c1", "c4"):
        assert alice.post(f"/orgs/{slug}/counters/{name}/delete").headers["location"] == f"/orgs/{slug}"
    assert alice.get(f"/orgs/{slug}/counters/c4").status_code == 404
    # Creating a name that exists opens it, unchanged.
    assert alice.post(f"/orgs/{slug}/counters", {"name": "c5"}).status_code == 303
    expected = {"c0": 0, "c2": 2, "c3": 3, "c5": 5}
    live = {name: counter(alice, slug, name) for name in names if name not in ("c1", "c4")}
    assert live == expected
    assert listed(alice, slug) == (expected, 10)
    fleet = run(client, services(client).actor(CounterActor).in_tenant, slug)
    assert fleet.counts == expected and fleet.total == 10
    with alice.active() as c:
        sections = c.get(f"/orgs/{slug}", headers=JSON).json()["sections"]
    assert [s["data"]["counts"] for s in sections] == [expected]


def test_the_usage_page_counts_tracked_calls_per_day_event_and_member(
    client: Client, alice: Person, bob: Person
) -> None:
    slug = alice.create_org("Acme")
    join(alice, slug, bob)
    other = bob.create_org("Other")  # Bob's active organization is now another one
    assert alice.post(f"/orgs/{slug}/counters", {"name": "hits"}).status_code == 303
    for _ in range(7):
        assert alice.post(f"/orgs/{slug}/counters/hits/increment").status_code == 303
    for _ in range(4):  # counted for the organization in the path, not Bob's active one
        assert bob.post(f"/orgs/{slug}/counters/hits/increment").status_code == 303
    assert bob.post(f"/orgs/{slug}/counters/hits/decrement").status_code == 303
    with alice.active() as c:
        usage = c.get(f"/orgs/{slug}/usage", headers=JSON).json()
    assert usage["events"] == {"counter.create": 1, "counter.decrement": 1, "counter.increment": 11}
    assert len(usage["days"]) == 30 and sum(sum(d["counts"].values()) for d in usage["days"]) == 13
    assert {m["email"]: m["count"] for m in usage["members"]} == {alice.email: 8, bob.email: 5}
    page = alice.get(f"/orgs/{slug}/usage").text
    assert "<svg" in page and 'data-value="13"' in page
    assert re.search(r'data-event="counter.increment">.*?data-count>11<', page, re.S)
    assert re.search(rf'data-member="{re.escape(bob.email)}">.*?data-count>5<', page, re.S)
    with bob.active() as c:
        assert c.get(f"/orgs/{other}/usage", headers=JSON).json()["events"] == {}


def test_one_organization_spending_its_budget_leaves_anothers_alone(
    client: Client, alice: Person, bob: Person
) -> None:
    noisy = alice.create_org("Noisy")
    quiet = bob.create_org("Quiet")
    join(alice, noisy, bob)  # Bob is in both; his calls count where the counter lives
    assert alice.post(f"/orgs/{noisy}/counters", {"name": "n"}).status_code == 303
    assert bob.post(f"/orgs/{quiet}/counters", {"name": "q"}).status_code == 303
    # The burst is spent (a unit comes back only every window/limit seconds, so a slow run may get one).
    accepted = 0
    while (answer := alice.post(f"/orgs/{noisy}/counters/n/increment")).status_code == 303:
        accepted += 1
        assert accepted <= ORG_COUNTER_LIMIT.limit + 5
    assert answer.status_code == 429 and accepted >= ORG_COUNTER_LIMIT.limit
    refused = bob.post(f"/orgs/{noisy}/counters/n/increment")  # another member of the noisy tenant
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    for _ in range(3):
        assert bob.post(f"/orgs/{quiet}/counters/q/increment").status_code == 303
    assert counter(bob, quiet, "q") == 3 and counter(alice, noisy, "n") == accepted


def test_deleting_an_organization_clears_its_actors_and_the_slug_starts_empty(
    client: Client, alice: Person, bob: Person
) -> None:
    slug = alice.create_org("Acme")
    keep = bob.create_org("Acme Two")
    for person, org in ((alice, slug), (bob, keep)):
        assert person.post(f"/orgs/{org}/counters", {"name": "x"}).status_code == 303
        assert person.post(f"/orgs/{org}/counters/x/increment").status_code == 303
    assert tenant_keys(client, slug) and tenant_keys(client, keep)
    assert alice.post(f"/orgs/{slug}/delete", {"confirm": slug}).status_code == 303
    assert tenant_keys(client, slug) == []
    assert counter(bob, keep, "x") == 1  # another tenant's keys stay
    # The same slug again: no counters, no usage.
    assert bob.create_org("Acme", slug) == slug
    assert listed(bob, slug) == ({}, 0)
    assert bob.get(f"/orgs/{slug}/counters/x").status_code == 404
    with bob.active() as c:
        usage = c.get(f"/orgs/{slug}/usage", headers=JSON).json()
    assert usage["events"] == {} and all(m["count"] == 0 for m in usage["members"])
