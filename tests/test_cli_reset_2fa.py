"""`python app.py users reset-2fa EMAIL`: two-factor off, backup codes gone, event logged, owner mailed."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_support import open_database
from domain.auth.tables import BackupCode, TwoFactor, User
from domain.mail import dev_mail_dir, list_stored
from settings import Settings
from tests.test_cli_admin import cli_env, one_line_error, run_cli
from tests.web.auth_support import PASSWORD

__all__ = ["cli_env"]  # the fixture, imported for this module's tests


def enable_two_factor(email: str) -> None:
    async def go() -> None:
        async with open_database(Settings.from_env()):
            user = await User.select(User.id).where(User.email == email).first()
            assert user is not None
            now = datetime.now(UTC)
            await TwoFactor.insert(
                TwoFactor(user=user["id"], secret="v1:sealed", confirmed=True, created_at=now)
            )
            await BackupCode.insert(BackupCode(user=user["id"], code_hash="0" * 64, created_at=now))

    asyncio.run(go())


def two_factor_rows() -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        async with open_database(Settings.from_env()):
            return await TwoFactor.count(), await BackupCode.count()

    return asyncio.run(go())


def test_users_reset_2fa_turns_it_off_logs_and_mails_the_owner(
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert run_cli(capsys, monkeypatch, "createadmin", "a@example.com", stdin=PASSWORD).code == 0
    enable_two_factor("a@example.com")
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        result = run_cli(capsys, monkeypatch, "users", "reset-2fa", "A@example.com")
    assert result.code == 0, result
    assert "two-factor sign-in of a@example.com" in result.out
    assert two_factor_rows() == (0, 0)
    assert any("auth.event=two_factor.reset_by_admin" in r.getMessage() for r in caplog.records)
    mails = list_stored(dev_mail_dir(Path(cli_env["DATA_DIR"])))
    assert [(m.to, m.subject) for m in mails] == [
        ("a@example.com", "A sign-in method of your account changed")
    ]
    again = run_cli(capsys, monkeypatch, "users", "reset-2fa", "a@example.com")
    assert again.code == 0 and "nothing to do" in again.out


def test_users_reset_2fa_of_an_unknown_address_fails_with_a_reason(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "users", "reset-2fa", "nobody@example.com")
    assert "no user with email nobody@example.com" in one_line_error(result)
    help_text = run_cli(capsys, monkeypatch, "users", "--help")
    assert "reset-2fa" in help_text.out and "two-factor" in help_text.out
