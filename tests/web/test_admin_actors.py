"""The actor inspector at /admin-tools/actors: admins look actors up, see their state and reset them."""

from __future__ import annotations

from actors.counter import CounterActor
from actors.keys import hashed_id
from actors.ratelimit import RateLimitActor
from tests.web.admin_support import demote, signed_in_admin, signed_in_member
from tests.web.auth_support import Client, post_form, run

PATH = "/admin-tools/actors"


def counter(client: Client) -> CounterActor:
    actor = client.app.state.services.actor(CounterActor)
    assert isinstance(actor, CounterActor)
    return actor


def bump(client: Client, counter_id: str, by: int) -> None:
    async def go() -> None:
        await counter(client).increment(counter_id, by=by)

    run(client, go)


def count_of(client: Client, counter_id: str) -> int:
    async def go() -> int:
        return (await counter(client).get(counter_id)).count

    return run(client, go)


def test_actor_inspector_signed_out_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(PATH, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/auth/sign-in?next={PATH}"


def test_actor_inspector_non_admin_gets_403(client: Client) -> None:
    signed_in_member(client)
    bump(client, "abc", 2)
    assert client.get(PATH, follow_redirects=False).status_code == 403
    response = post_form(client, f"{PATH}/reset", {"kind": "counter", "id": "abc"}, follow_redirects=False)
    assert response.status_code == 403
    assert count_of(client, "abc") == 2


def test_actor_inspector_shows_state(client: Client) -> None:
    signed_in_admin(client)
    bump(client, "abc", 41)
    bump(client, "abc", 1)
    page = client.get(PATH, params={"kind": "counter", "id": "abc"})
    assert page.status_code == 200
    assert "actor:counter:{abc}" in page.text
    assert '<code>count</code></td><td class="py-1"><code>42</code>' in page.text
    assert "Reset this actor" in page.text


def test_actor_inspector_lists_every_kind(client: Client) -> None:
    signed_in_admin(client)
    page = client.get(PATH).text
    for kind in ("counter", "preferences", "ratelimit"):
        assert f'<option value="{kind}"' in page


def test_actor_inspector_unknown_actor_has_no_state(client: Client) -> None:
    signed_in_admin(client)
    page = client.get(PATH, params={"kind": "counter", "id": "never-used"})
    assert page.status_code == 200
    assert "No state" in page.text
    assert "Reset this actor" not in page.text


def test_actor_inspector_rejects_bad_kind_and_id(client: Client) -> None:
    signed_in_admin(client)
    page = client.get(PATH, params={"kind": "nope", "id": "a b"})
    assert page.status_code == 422
    assert "Choose one of" in page.text
    assert "invalid actor id" in page.text


def test_actor_inspector_hashes_rate_limit_keys(client: Client) -> None:
    signed_in_admin(client)

    async def hit() -> None:
        await RateLimitActor(client.app.state.services.redis).hit("probe:key", limit=5, window_seconds=60)

    run(client, hit)
    page = client.get(PATH, params={"kind": "ratelimit", "id": "probe:key", "hashed": "true"})
    assert page.status_code == 200
    assert hashed_id("probe:key") in page.text
    assert "No state" not in page.text


def test_actor_inspector_resets_an_actor(client: Client) -> None:
    signed_in_admin(client)
    bump(client, "abc", 5)
    bump(client, "other", 7)
    response = post_form(client, f"{PATH}/reset", {"kind": "counter", "id": "abc"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PATH}?kind=counter&id=abc"
    assert "No state" in client.get(response.headers["location"]).text
    assert count_of(client, "abc") == 0
    assert count_of(client, "other") == 7
    bump(client, "abc", 1)
    assert count_of(client, "abc") == 1


def test_actor_inspector_reset_needs_csrf_token(client: Client) -> None:
    signed_in_admin(client)
    bump(client, "abc", 3)
    response = client.post(f"{PATH}/reset", data={"kind": "counter", "id": "abc"}, follow_redirects=False)
    assert response.status_code == 403
    assert count_of(client, "abc") == 3


def test_actor_inspector_demoted_admin_is_refused_at_once(client: Client) -> None:
    signed_in_admin(client)
    assert client.get(PATH).status_code == 200
    demote(client)
    # The session cache still says admin for a while; the inspector asks the database.
    assert client.get(PATH, follow_redirects=False).status_code == 403


def test_actor_inspector_hides_a_pending_mails_body(client: Client) -> None:
    from actors.outbox import OutboxActor

    signed_in_admin(client)
    outbox = client.app.state.services.actor(OutboxActor)
    secret_link = "https://app.example/auth/reset-password?token=do-not-show-me"

    async def store() -> None:
        # Stored without its alarm's delivery mattering: the body is what the page must not show.
        await outbox.call(
            outbox._put, "mail-1", (f"Subject: Reset\n\n{secret_link}", 60_000), request_id="mail-1"
        )

    run(client, store)
    page = client.get(PATH, params={"kind": "outbox", "id": "mail-1"})
    assert page.status_code == 200
    assert "<code>body</code>" in page.text and "(hidden:" in page.text
    assert "do-not-show-me" not in page.text


def test_actor_inspector_shows_a_tenants_usage_buckets_and_chart(client: Client) -> None:
    from actors.keys import scoped
    from actors.usage import UsageActor, tenant_subject

    signed_in_admin(client)
    usage = client.app.state.services.actor(UsageActor)

    async def record() -> int:
        for _ in range(3):
            await usage.record(tenant_subject("acme"), "counter.increment")
        return int((await usage.days(tenant_subject("acme"), 1))[-1].start.timestamp()) // 86400

    day = run(client, record)
    page = client.get(PATH, params={"kind": "usage", "id": scoped("acme", "usage")})
    assert page.status_code == 200
    assert f"actor:usage:org:{{acme}}/usage:d:{day}</code> (hash, expires" in page.text
    assert '<code>counter.increment</code></td><td class="py-1"><code>3</code>' in page.text
    assert page.text.count(" data-day=") == 30 and 'data-value="3"' in page.text  # today's bar
    assert "Remembered requests" not in page.text  # no state hash of its own, only buckets
    response = post_form(
        client, f"{PATH}/reset", {"kind": "usage", "id": scoped("acme", "usage")}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "No state" in client.get(response.headers["location"]).text


def test_actor_inspector_shows_a_tenants_fleet_index(client: Client) -> None:
    from actors.keys import scoped

    signed_in_admin(client)
    bump(client, scoped("acme", "visits"), 4)
    page = client.get(PATH, params={"kind": "fleet", "id": scoped("acme")})
    assert page.status_code == 200
    assert "actor:fleet:org:{acme}:counter</code>" in page.text
    assert '<code>visits</code></td><td class="py-1"><code>{&#34;count&#34;:4}</code>' in page.text
