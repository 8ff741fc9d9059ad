"""`python app.py doctor` against real settings, servers and databases: findings and exit status."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from actors.embedded import EmbeddedRedis
from doctor import Finding, cmd_doctor, diagnose
from settings import Settings
from tests.conftest import TEST_SECRET
from tests.support.server import ROOT, free_port, running_app
from tests.support.smtp_sink import SmtpSink

PRODUCTION_SECRET = "p" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"


def errors(findings: list[Finding]) -> dict[str, str]:
    return {f.area: f.text for f in findings if f.level == "error"}


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink("plain").start()
    yield sink
    sink.stop()


@pytest.fixture
def lossy_redis(tmp_path: Path) -> Iterator[str]:
    """A real Redis configured the way that loses writes: AOF off, evicting keys under memory pressure."""
    server = EmbeddedRedis(tmp_path / "lossy")
    server.start()
    client = redis_sync.Redis(unix_socket_path=str(server.socket_path))
    client.config_set("appendonly", "no")
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.close()
    yield server.url
    server.stop()


def test_doctor_good_settings_report_no_error(settings: Settings, smtp: SmtpSink) -> None:
    good = settings.with_overrides(
        base_url="http://127.0.0.1:8000",
        smtp_url=smtp.url,
        google_client_id="id",
        google_client_secret="secret",
    )
    findings = diagnose(good)
    assert errors(findings) == {}, [f.line() for f in findings]
    assert not [f for f in findings if f.level == "warn"], [f.line() for f in findings]
    redirect = next(f for f in findings if f.area == "Google OAuth")
    assert "http://127.0.0.1:8000/auth/oauth/google/callback" in redirect.text
    assert any(f.area == "Redis durability" and f.level == "ok" for f in findings)
    assert any(f.area == "DATABASE_URL" and "every migration applied" in f.text for f in findings)
    assert cmd_doctor(good, argparse.Namespace(url=None)) == 0


def test_doctor_bad_settings_name_each_problem_and_fail(
    tmp_path: Path, lossy_redis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bad = Settings(
        app_env="production",
        data_dir=data_dir,  # an empty SQLite file: nothing migrated yet
        redis_url=lossy_redis,
        auth_secret=PRODUCTION_SECRET,
        base_url="https://127.0.0.1",
        smtp_url=f"smtp://127.0.0.1:{free_port()}",  # nobody listens there
        github_client_id="only-the-id",
        trusted_proxies=("10.0.0.0/8", "proxy.internal"),
        redis_waitaof=True,
    )
    found = errors(diagnose(bad))
    assert "points at this machine" in found["BASE_URL"]
    assert "GITHUB_CLIENT_SECRET" in found["GitHub OAuth"]
    assert "proxy.internal" in found["TRUSTED_PROXIES"]
    assert "cannot reach" in found["SMTP_URL"]
    findings = diagnose(bad)
    durability = [f.text for f in findings if f.area == "Redis durability"]
    assert any("AOF is off" in t for t in durability) and any("allkeys-lru" in t for t in durability)
    assert any(f.area == "migrations" and "pending" in f.text for f in findings)
    capsys.readouterr()
    assert cmd_doctor(bad, argparse.Namespace(url=None)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(line.split()[0] in {"OK", "INFO", "WARN", "ERROR"} for line in lines[:-1])
    assert lines[-1].startswith(f"{sum(line.startswith('ERROR') for line in lines)} errors")


def test_doctor_unreachable_database_is_an_error(settings: Settings) -> None:
    unreachable = settings.with_overrides(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    assert "cannot open" in errors(diagnose(unreachable))["DATABASE_URL"]


@pytest.mark.slow
def test_doctor_url_probe_compares_base_url_with_the_address_used(tmp_path: Path, settings: Settings) -> None:
    with running_app(tmp_path / "served", command="serve") as app:
        matching = settings.with_overrides(base_url=app.base_url)
        assert not [f for f in diagnose(matching, app.base_url) if f.level == "error"]
        elsewhere = settings.with_overrides(base_url="http://127.0.0.1:8000")
        found = errors(diagnose(elsewhere, app.base_url))
        assert f"set BASE_URL={app.base_url}" in found["BASE_URL"]
    assert "cannot reach" in errors(diagnose(matching, app.base_url))["--url"]


def test_doctor_as_a_process_exits_non_zero_on_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS_URL", "DATABASE_URL"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        APP_ENV="development",
        AUTH_SECRET=TEST_SECRET,
        GOOGLE_CLIENT_SECRET="no-id",
    )
    done = subprocess.run(
        [sys.executable, "app.py", "doctor"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ERROR Google OAuth: GOOGLE_CLIENT_SECRET is set but GOOGLE_CLIENT_ID is not" in done.stdout
