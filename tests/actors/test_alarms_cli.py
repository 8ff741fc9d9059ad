"""`python app.py alarms list|retry|discard` against real Redis: the operator's view of dead letters."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from actors import alarm_store
from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import create_redis
from actors.embedded import EmbeddedRedis
from actors.runtime import ActorSet
from cli import main

from .alarm_probe import AlarmProbeActor
from .conftest import delete_test_keys


def alarms_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["alarms", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def dead_letter(url: str, actor_id: str) -> alarm_store.AlarmInfo | None:
    """Set a failing alarm and run a one-try scheduler until it is dead-lettered; returns its state."""
    redis = create_redis(url)
    try:
        probe = AlarmProbeActor(redis)
        await probe.set_alarm(actor_id, at=time.time(), payload={"fail_until": 1})
        policy = AlarmPolicy(max_tries=1, poll_interval=0.02)
        async with AlarmScheduler(ActorSet(redis), policy):
            deadline = time.monotonic() + 10
            while (info := await probe.get_alarm(actor_id)) is not None and info.state != "dead":
                assert time.monotonic() < deadline, "the alarm was not dead-lettered within 10 s"
                await asyncio.sleep(0.02)
        return info
    finally:
        await redis.aclose()


async def read_alarm(url: str, actor_id: str) -> alarm_store.AlarmInfo | None:
    redis = create_redis(url)
    try:
        return await alarm_store.get_alarm(redis, "alarmprobe", actor_id)
    finally:
        await redis.aclose()


async def forget(url: str, uid: str) -> None:
    redis = create_redis(url)
    try:
        await delete_test_keys(redis, uid)
    finally:
        await redis.aclose()


def test_alarms_cli_lists_retries_and_discards_a_dead_letter(
    actor_server: EmbeddedRedis,
    uid: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", actor_server.url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    try:
        check_list_retry_discard(actor_server.url, uid, capsys)
    finally:
        asyncio.run(forget(actor_server.url, uid))


def check_list_retry_discard(url: str, uid: str, capsys: pytest.CaptureFixture[str]) -> None:
    info = asyncio.run(dead_letter(url, uid))
    assert info is not None and info.state == "dead"

    code, out = alarms_cli(capsys, "list", "--limit", "10000")  # the shared test server may hold others
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(f"alarmprobe/{uid} "))
    assert "dead" in line and "probe failure on run 1" in line

    code, out = alarms_cli(capsys, "retry", f"alarmprobe/{uid}")
    assert code == 0 and "due now" in out
    revived = asyncio.run(read_alarm(url, uid))
    assert revived is not None and revived.state == "pending" and revived.attempt == 0

    code, out = alarms_cli(capsys, "discard", f"alarmprobe/{uid}")
    assert code == 0 and "discarded" in out
    assert asyncio.run(read_alarm(url, uid)) is None

    code, out = alarms_cli(capsys, "discard", f"alarmprobe/{uid}")
    assert code != 0 and "has no alarm" in out
    code, out = alarms_cli(capsys, "retry", "no-slash")
    assert code != 0 and "<kind>/<id>" in out


def test_alarms_cli_every_argument_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["alarms", "--help"], ["alarms", "list", "--help"], ["alarms", "retry", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    out = capsys.readouterr().out
    assert "show at most this many" in out and "<kind>/<actor id>" in out


def test_alarms_cli_refuses_a_bad_limit_and_an_unreachable_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["alarms", "list", "--limit", "0"])
    assert refused.value.code == 2 and "from 1 to 10000" in capsys.readouterr().err
    monkeypatch.setenv("REDIS_URL", f"unix://{tmp_path}/no-such.sock")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    code, out = alarms_cli(capsys, "list")
    assert code != 0 and "Redis did not answer" in out
