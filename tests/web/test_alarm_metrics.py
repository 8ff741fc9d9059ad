"""/metrics reports actor alarms: runs by outcome, lateness, and the index sizes by state."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from settings import Settings
from tests.actors.alarm_probe import AlarmProbeActor
from tests.conftest import TEST_BASE_URL
from web.services import Services

from .test_metrics import sample


@pytest.fixture
def metered(settings: Settings) -> Iterator[TestClient[Litestar]]:
    from app import create_app

    with TestClient(create_app(settings.with_overrides(metrics_enabled=True)), base_url=TEST_BASE_URL) as c:
        yield c


def test_metrics_count_alarm_runs_lateness_and_states(metered: TestClient[Litestar]) -> None:
    services: Services = metered.app.state.services
    probe = services.actor(AlarmProbeActor)
    actor_id = f"m{time.time_ns()}"
    before = metered.get("/metrics").text

    async def set_alarm() -> None:
        await probe.set_alarm(actor_id, at=time.time(), payload={})

    metered.blocking_portal.call(set_alarm)
    runs = {"kind": "alarmprobe", "outcome": "ok"}
    deadline = time.monotonic() + 10
    while sample(metered.get("/metrics").text, "actor_alarm_runs_total", **runs) <= sample(
        before, "actor_alarm_runs_total", **runs
    ):
        assert time.monotonic() < deadline, "the alarm did not run within 10 s"
        time.sleep(0.05)
    after = metered.get("/metrics").text
    lateness = "actor_alarm_lateness_seconds_count"
    assert sample(after, lateness, kind="alarmprobe") > sample(before, lateness, kind="alarmprobe")
    assert sample(after, "actor_alarm_lateness_seconds_bucket", kind="alarmprobe", le="1.0") >= 1
    families = {line.split("{")[0] for line in after.splitlines() if line.startswith("actor_alarms{")}
    assert families == {"actor_alarms"}  # the index sizes are published (read every 5 s from the start)
