"""Mail through the outbox: an SMTP outage delays mail, never fails the request, and nothing leaks to logs."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from actors.connection import RedisClient
from actors.outbox import OutboxActor
from domain.mail import body_text
from settings import Settings
from tests.support.server import wait_until
from tests.support.smtp_sink import SmtpSink
from tests.web.auth_support import LINK, PASSWORD, fast_hashing, post_form, run

BASE = "https://app.example"


def test_sign_up_answers_while_smtp_is_down_and_the_mail_arrives_when_it_is_back(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    from app import create_app

    sink = SmtpSink("plain")  # its port is chosen but nothing listens until start()
    started = False
    production = settings.with_overrides(app_env="production", base_url=BASE, smtp_url=sink.url)
    try:
        with TestClient(app=create_app(production), base_url=BASE, timeout=10) as client:
            fast_hashing(client)
            redis = client.app.state.services.redis
            form = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
            response = post_form(client, "/auth/sign-up", form)
            assert response.status_code == 200

            # The first delivery try met the outage and is waiting to retry.
            wait_until(lambda: run(client, _outbox_errors, redis) != [], 10, "a failed delivery try")
            assert run(client, _outbox_errors, redis) == [
                "MailNotSent: SMTP delivery failed: ConnectionRefusedError"
            ]
            sink.start()
            started = True
            received = sink.next_message(timeout=20)
            assert received.rcpt_tos == ["ada@example.com"]
            link = LINK.search(body_text(received.message, "plain"))
            assert link and link.group(0).startswith(f"{BASE}/auth/verify?token=")
            outbox_id = received.message["Message-ID"].strip("<>").partition("@")[0]
            actor = OutboxActor(redis)
            wait_until(lambda: run(client, actor.get, outbox_id).status == "sent", 10, "the sent mark")
            assert sink.inbox.empty()  # sent once
    finally:
        if started:
            sink.stop()
    captured = capfd.readouterr()
    # The sink's own logger (aiosmtpd's mail.log) is the receiving server, not the app: left out.
    logged = "\n".join(
        line for line in (captured.out + captured.err).splitlines() if " mail.log " not in line
    )
    assert "SMTP delivery failed" in logged
    assert "ada@example.com" not in logged and "token=" not in logged and "Confirm" not in logged


async def _outbox_errors(redis: RedisClient) -> list[str]:
    """The last error of every outbox alarm waiting to retry."""
    errors = []
    async for key in redis.scan_iter(match="actor:outbox:{*}:alarm"):
        error = await redis.hget(key, "error")  # type: ignore[misc]
        if error:
            errors.append(error.decode() if isinstance(error, bytes) else error)
    return errors
