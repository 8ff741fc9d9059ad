"""The sweeper deletes exactly what expired (sessions, links, stale sign-ups, leaked keys), by its alarm."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import msgspec

from actors.alarm_store import SPENT_RECORD_TTL_MS, alarm_key
from actors.connection import RedisClient
from actors.outbox import PENDING_TTL_MS, OutboxActor
from domain.auth.clock import utc_now
from domain.auth.tables import Account, Session, User, Verification
from domain.mail import Mail, list_stored
from domain.sweeper import SWEEPER_ID, SweeperActor, SweepReport, sweep
from tests.support.server import wait_until
from tests.web.auth_support import Client, run

DAY = timedelta(days=1)


async def _user(email: str, created: datetime, *, verified: bool = False) -> int:
    rows = await User.insert(
        User(email=email, name="N", created_at=created, updated_at=created, email_verified=verified)
    ).returning(User.id)
    return int(rows[0]["id"])


async def _session(user: int, token: str, expires: datetime) -> None:
    now = utc_now()
    await Session.insert(
        Session(user=user, token_hash=token, expires_at=expires, created_at=now, last_seen=now)
    )


async def _link(user: int, token: str, expires: datetime) -> None:
    await Verification.insert(
        Verification(
            user=user, purpose="verify_email", token_hash=token, expires_at=expires, created_at=utc_now()
        )
    )


async def _seed(redis: RedisClient) -> dict[str, int]:
    now = utc_now()
    ids = {
        "stale": await _user("stale@example.com", now - 2 * DAY),
        "stale_expired_link": await _user("stale2@example.com", now - 2 * DAY),
        "fresh": await _user("fresh@example.com", now),
        "old_live_link": await _user("live@example.com", now - 2 * DAY),
        "old_oauth": await _user("oauth@example.com", now - 2 * DAY),
        "verified": await _user("ok@example.com", now - 30 * DAY, verified=True),
    }
    await _link(ids["stale_expired_link"], "t-expired", now - timedelta(minutes=1))
    await _link(ids["old_live_link"], "t-live", now + timedelta(hours=1))
    await Account.insert(
        Account(
            user=ids["old_oauth"], provider="github", provider_account_id="1", created_at=now, updated_at=now
        )
    )
    await _session(ids["verified"], "s-expired", now - timedelta(seconds=1))
    await _session(ids["verified"], "s-live", now + DAY)
    await redis.set("actor:counter:{c1}:rq:increment:leaked", "{}")
    await redis.set("actor:counter:{c1}:rq:increment:fresh", "{}", px=60_000)
    await redis.set("actor:counter:{c1}", "not a request key")
    return ids


async def _remaining(redis: RedisClient) -> tuple[set[str], set[str], set[str], set[str]]:
    users = {r["email"] for r in await User.select(User.email)}
    sessions = {r["token_hash"] for r in await Session.select(Session.token_hash)}
    links = {r["token_hash"] for r in await Verification.select(Verification.token_hash)}
    keys = {k.decode() async for k in redis.scan_iter(match="actor:counter:*")}
    return users, sessions, links, keys


EXPECTED = (
    {"fresh@example.com", "live@example.com", "oauth@example.com", "ok@example.com"},
    {"s-live"},
    {"t-live"},
    {"actor:counter:{c1}:rq:increment:fresh", "actor:counter:{c1}"},
)


def test_sweep_deletes_exactly_the_expired_rows_and_keys(client: Client) -> None:
    redis = client.app.state.services.redis
    run(client, _seed, redis)
    report = run(client, sweep, redis)
    assert report == SweepReport(
        sessions=1, verifications=1, unverified_users=2, request_keys=1, unscheduled_mail=0
    )
    assert run(client, _remaining, redis) == EXPECTED
    assert run(client, sweep, redis) == SweepReport(0, 0, 0, 0, 0)


def test_the_sweeper_alarm_sweeps_and_sets_itself_again(client: Client) -> None:
    redis = client.app.state.services.redis
    run(client, _seed, redis)
    sweeper = client.app.state.services.actor(SweeperActor)
    # The app armed it at start, SWEEP_INTERVAL_SECONDS ahead; make it due now.
    armed = run(client, sweeper.get_alarm, SWEEPER_ID)
    assert armed is not None and armed.payload == {"every": 300}
    run(client, lambda: sweeper.set_alarm(SWEEPER_ID, at=time.time(), payload={"every": 300}))
    wait_until(lambda: run(client, _remaining, redis) == EXPECTED, 10, "the sweep by alarm")
    wait_until(
        lambda: (
            (a := run(client, sweeper.get_alarm, SWEEPER_ID)) is not None
            and a.at.timestamp() > time.time() + 250
        ),
        10,
        "the sweeper re-armed about 300 s ahead",
    )


def test_a_stored_mail_whose_alarm_was_never_set_is_delivered_after_the_sweep(client: Client) -> None:
    services = client.app.state.services
    outbox = services.actor(OutboxActor)
    body = msgspec.json.encode(
        Mail(to="ann@example.com", subject="Stored, not scheduled", text="hi")
    ).decode()

    async def put_without_alarm(message_id: str) -> None:
        # OutboxActor.put's first write alone: what a process dying before its set_alarm leaves.
        await outbox.call(OutboxActor._put, message_id, (body, PENDING_TTL_MS), request_id=message_id)

    run(client, put_without_alarm, "stranded")
    assert run(client, outbox.get_alarm, "stranded") is None
    assert run(client, outbox.get, "stranded").status == "pending"

    assert run(client, sweep, services.redis).unscheduled_mail == 1
    wait_until(lambda: run(client, outbox.get, "stranded").status == "sent", 10, "the stored mail was sent")
    mail_dir = services.settings.data_dir / "mail"
    assert [m.subject for m in list_stored(mail_dir)] == ["Stored, not scheduled"]
    assert run(client, sweep, services.redis).unscheduled_mail == 0  # a sent mail is not sent again


def test_a_discarded_mail_is_not_scheduled_again_after_its_alarm_record_expired(client: Client) -> None:
    services = client.app.state.services
    outbox = services.actor(OutboxActor)
    body = msgspec.json.encode(Mail(to="ann@example.com", subject="Discarded", text="hi")).decode()
    # OutboxActor.put's two writes, with the alarm an hour ahead so nothing delivers it first.
    run(
        client,
        lambda: outbox.call(OutboxActor._put, "discarded", (body, PENDING_TTL_MS), request_id="discarded"),
    )
    run(client, lambda: outbox.set_alarm("discarded", at=time.time() + 3600))
    assert run(client, services.actors.cancel_alarm, "outbox", "discarded") is True  # an operator's discard
    assert run(client, outbox.get, "discarded").status == "discarded"
    record = alarm_key("outbox", "discarded")
    assert 0 < run(client, services.redis.pttl, record) <= SPENT_RECORD_TTL_MS
    # The spent record's expiry, for real: the sweeper can no longer see that an alarm was ever set.
    assert run(client, services.redis.pexpire, record, 1)
    wait_until(lambda: run(client, services.redis.exists, record) == 0, 5, "the alarm record expired")

    assert run(client, sweep, services.redis).unscheduled_mail == 0
    assert run(client, outbox.get_alarm, "discarded") is None
    assert run(client, outbox.get, "discarded").status == "discarded"
    assert "Discarded" not in [m.subject for m in list_stored(services.settings.data_dir / "mail")]
