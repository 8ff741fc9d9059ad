"""ALARM_* settings: defaults like Durable Objects, bounded whole numbers, a clear error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings, SettingsError


def test_alarm_settings_default_to_six_tries_one_second_backoff_thirty_second_lease(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    assert (settings.alarm_max_tries, settings.alarm_backoff_seconds, settings.alarm_lease_seconds) == (
        6,
        1,
        30,
    )
    assert settings.alarm_repair_seconds == 60
    custom = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "ALARM_MAX_TRIES": "3",
            "ALARM_BACKOFF_SECONDS": "0",
            "ALARM_LEASE_SECONDS": "5",
            "ALARM_REPAIR_SECONDS": "7",
        },
        env_file=None,
    )
    assert (custom.alarm_max_tries, custom.alarm_backoff_seconds, custom.alarm_lease_seconds) == (3, 0, 5)
    assert custom.alarm_repair_seconds == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALARM_MAX_TRIES", "0"),
        ("ALARM_MAX_TRIES", "six"),
        ("ALARM_LEASE_SECONDS", "0"),
        ("ALARM_BACKOFF_SECONDS", "1.5"),
        ("ALARM_REPAIR_SECONDS", "0"),
    ],
)
def test_alarm_settings_refuse_values_out_of_range(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"DATA_DIR": str(tmp_path), name: value}, env_file=None)
