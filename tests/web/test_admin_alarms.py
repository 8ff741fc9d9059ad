"""The "Alarms and outbox" admin page: dead-lettered mail with its error, retry and discard, admins only."""

from __future__ import annotations

import time

import msgspec
from litestar.testing import TestClient

from actors.counter import CounterActor
from actors.outbox import PENDING_TTL_MS, OutboxActor
from domain.admin.users import create_admin
from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher
from domain.mail import Mail
from settings import Settings
from tests.support.server import wait_until
from tests.support.smtp_sink import SmtpSink
from tests.web.admin_support import signed_in_admin, signed_in_member
from tests.web.auth_support import HTMX, PASSWORD, Client, auth_of, csrf_token, fast_hashing, run, sign_in

BASE = "https://app.example"
JSON = {"Accept": "application/json"}


def _board(client: Client) -> dict[str, object]:
    response = client.get("/admin-tools/alarms", headers=JSON)
    assert response.status_code == 200, response.text
    board: dict[str, object] = response.json()
    return board


def test_dead_mail_is_listed_with_its_error_and_retry_delivers_it(settings: Settings) -> None:
    from app import create_app

    sink = SmtpSink("plain")  # not listening yet: the one allowed try fails
    production = settings.with_overrides(
        app_env="production", base_url=BASE, smtp_url=sink.url, alarm_max_tries=1
    )
    started = False
    try:
        with TestClient(app=create_app(production), base_url=BASE) as client:
            fast_hashing(client)
            run(client, create_admin, "root@example.com", "Root", PASSWORD, PasswordHasher(OWASP_MINIMUM))
            assert client.cookies.get("__Host-session") is None
            assert sign_in(client, "root@example.com").status_code == 200
            assert client.cookies.get("__Host-session")
            outbox_id = run(
                client, auth_of(client).outbox.send, Mail(to="b@example.com", subject="S", text="t")
            )
            member = f"outbox/{outbox_id}"

            def dead() -> bool:
                rows = _board(client)["alarms"]
                assert isinstance(rows, list)
                return any(r["member"] == member and r["state"] == "dead" for r in rows)

            wait_until(dead, 10, "the mail dead-lettered")
            page = client.get("/admin-tools/alarms", headers={"Accept": "text/html"})
            assert page.status_code == 200
            assert f'data-alarm="{member}"' in page.text
            assert "SMTP delivery failed: ConnectionRefusedError" in page.text
            assert "b@example.com" not in page.text  # the page shows the failure, not the mail

            sink.start()
            started = True
            response = client.post(
                "/admin-tools/alarms/retry",
                data={"member": member},
                headers={**HTMX, "x-csrftoken": csrf_token(client)},
            )
            assert response.status_code == 200 and f"{member}: due now." in response.text
            assert sink.next_message(timeout=10).message["Message-ID"].startswith(f"<{outbox_id}@")
    finally:
        if started:
            sink.stop()


def test_discard_removes_an_alarm(client: Client) -> None:
    signed_in_admin(client)
    counter = client.app.state.services.actor(CounterActor)
    run(client, lambda: counter.set_alarm("later", at=time.time() + 3600))
    rows = _board(client)["alarms"]
    assert isinstance(rows, list)
    assert {"member": "counter/later", "state": "scheduled"}.items() <= next(
        r for r in rows if r["member"] == "counter/later"
    ).items()
    response = client.post(
        "/admin-tools/alarms/discard",
        data={"member": "counter/later", "_csrf_token": csrf_token(client)},
        headers=JSON,
    )
    assert response.status_code == 200 and response.json()["notice"] == "counter/later: discarded."
    assert run(client, counter.get_alarm, "later") is None
    bad = client.post(
        "/admin-tools/alarms/discard",
        data={"member": "no-slash", "_csrf_token": csrf_token(client)},
        headers=JSON,
    )
    assert bad.status_code == 422 and "member" in bad.json()["errors"]


def test_discarding_an_outbox_alarm_marks_its_mail_discarded(client: Client) -> None:
    signed_in_admin(client)
    outbox = client.app.state.services.actor(OutboxActor)
    body = msgspec.json.encode(Mail(to="b@example.com", subject="S", text="t")).decode()
    # OutboxActor.put's two writes, with the alarm an hour ahead so nothing delivers it first.
    run(client, lambda: outbox.call(OutboxActor._put, "m1", (body, PENDING_TTL_MS), request_id="m1"))
    run(client, lambda: outbox.set_alarm("m1", at=time.time() + 3600))
    response = client.post(
        "/admin-tools/alarms/discard",
        data={"member": "outbox/m1", "_csrf_token": csrf_token(client)},
        headers=JSON,
    )
    assert response.status_code == 200 and response.json()["notice"] == "outbox/m1: discarded."
    message = run(client, outbox.get, "m1")
    assert (message.status, message.body) == ("discarded", "")
    assert run(client, outbox.get_alarm, "m1") is None


def test_alarm_page_and_actions_are_for_admins_only(client: Client) -> None:
    assert client.get("/admin-tools/alarms", headers=JSON).status_code == 401
    signed_in_member(client)
    counter = client.app.state.services.actor(CounterActor)
    run(client, lambda: counter.set_alarm("kept", at=time.time() + 3600))
    assert client.get("/admin-tools/alarms", headers=JSON).status_code == 403
    assert client.get("/admin-tools/alarms", headers={"Accept": "text/html"}).status_code == 403
    for action in ("retry", "discard"):
        response = client.post(
            f"/admin-tools/alarms/{action}",
            data={"member": "counter/kept", "_csrf_token": csrf_token(client)},
            headers=JSON,
        )
        assert response.status_code == 403
    assert run(client, counter.get_alarm, "kept") is not None
