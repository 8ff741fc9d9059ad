"""The actor inspector shows an actor's pending alarm: state, next run, tries, payload, last error."""

from __future__ import annotations

import time

from tests.actors.alarm_probe import AlarmProbeActor
from tests.web.admin_support import signed_in_admin
from tests.web.auth_support import Client, run

PATH = "/admin-tools/actors"


def test_actor_inspector_shows_the_pending_alarm(client: Client) -> None:
    signed_in_admin(client)
    probe = client.app.state.services.actor(AlarmProbeActor)
    assert isinstance(probe, AlarmProbeActor)

    async def set_alarm() -> None:
        await probe.set_alarm("insp", at=time.time() + 3600, payload={"note": "hello"})

    run(client, set_alarm)
    page = client.get(PATH, params={"kind": "alarmprobe", "id": "insp"})
    assert page.status_code == 200
    assert 'id="actor-alarm"' in page.text
    assert "pending: next run" in page.text
    assert '"note": "hello"' in page.text

    async def cancel() -> None:
        await probe.cancel_alarm("insp")

    run(client, cancel)
    assert "None pending." in client.get(PATH, params={"kind": "alarmprobe", "id": "insp"}).text
