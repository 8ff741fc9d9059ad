"""Settings from the environment: defaults, development secret, production refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings, SettingsError

GOOD_SECRET = "9f2c1e7a4b8d3f6a0c5e9b2d7f1a4c8e6b3d0f5a"


def test_settings_defaults_use_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    assert settings.app_env == "development"
    assert settings.redis_url is None
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'app.sqlite3').resolve()}"
    assert not settings.uses_postgres


def test_settings_development_secret_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    second = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    assert len(first.auth_secret) >= 32
    assert first.auth_secret == second.auth_secret
    assert (tmp_path / "auth_secret").read_text() == first.auth_secret


def test_settings_env_file_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=debug\nBASE_URL=http://example.test/\n")
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "LOG_LEVEL": "warning"}, env_file=env_file)
    assert settings.log_level == "WARNING"
    assert settings.base_url == "http://example.test"


def test_settings_postgres_url_selects_postgres(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@db:5432/app"}, env_file=None
    )
    assert settings.uses_postgres


@pytest.mark.parametrize(
    ("secret", "base_url", "reason"),
    [
        ("", "https://app.example", "AUTH_SECRET is required"),
        ("your-secret-key", "https://app.example", "placeholder"),
        ("a" * 40, "https://app.example", "placeholder"),
        ("short-but-random-9f2c1e", "https://app.example", "at least 32"),
        (GOOD_SECRET, "http://app.example", "https://"),
    ],
)
def test_settings_production_refuses_unsafe(tmp_path: Path, secret: str, base_url: str, reason: str) -> None:
    env = {"DATA_DIR": str(tmp_path), "APP_ENV": "production", "AUTH_SECRET": secret, "BASE_URL": base_url}
    with pytest.raises(SettingsError, match=reason):
        Settings.from_env(env, env_file=None)


def test_settings_production_accepts_strong_secret_and_https(tmp_path: Path) -> None:
    env = {
        "DATA_DIR": str(tmp_path),
        "APP_ENV": "production",
        "AUTH_SECRET": GOOD_SECRET,
        "BASE_URL": "https://app.example",
    }
    settings = Settings.from_env(env, env_file=None)
    assert settings.is_production
    assert not (tmp_path / "auth_secret").exists()


def test_settings_bad_app_env_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="APP_ENV"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "APP_ENV": "staging"}, env_file=None)
