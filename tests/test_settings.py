"""Settings from the environment: defaults, development secret, production refusals."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from settings import GENERATE_SECRET, Settings, SettingsError, secret_weakness
from tests.conftest import TEST_SECRET

GOOD_SECRET = "aa83f5f45d126ffb47ba77bf5966b358ef15fc3f625369b7b9c30ae6813c0833"


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {"DATA_DIR": str(tmp_path), "APP_ENV": "production", "AUTH_SECRET": GOOD_SECRET}
    return {**env, "BASE_URL": "https://app.example", **overrides}


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
        ("a" * 40, "https://app.example", "only 1 distinct"),
        ("short-but-random-9f2c1e", "https://app.example", "carries about 120 bits"),
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


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("abcdefgh" * 8, "has only 8 distinct characters"),
        ("Tr0ub4dor&3" * 4, "has only 10 distinct characters"),
        ("0123456789abcdef" * 4, "is made of repeats or sequences"),
        ("q" * 16 + "0123456789abcdefghijklmnopqrstuvwxyz", "is made of repeats or sequences"),
        ("7dbA7b7hFfjic177aC0fVx" * 2, "is made of repeats or sequences"),
        ("password1234" * 4, "contains the word 'password'"),
        ("my-secret-" + "7dbA7b7hFfjic177aC0fVxIdPld6f4vbk", "contains the word 'secret'"),
        ("correct-horse-battery-staple-tangerine-volcano-umbrella", "is a phrase of words"),
        ("CorrectHorseBatteryStapleTangerineVolcanoUmbrellaKite", "is a phrase of words"),
        ("correct horse battery staple tangerine volcano umbrella", "is a phrase of words"),
        ("9f2c1e7a4b8d3f6a0c5e9b2d7f1a4c8e6b3d0f5a", "carries about 160 bits (40 characters)"),
        ("yQwUBPEcYzZ2Rv6Vfsj_zhC_wT7WkZxk0ac_C4D", "carries about 234 bits (39 characters)"),
    ],
)
def test_settings_production_refuses_weak_secret_and_says_how_to_generate_one(
    tmp_path: Path, secret: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(production_env(tmp_path, AUTH_SECRET=secret), env_file=None)
    message = str(refused.value)
    assert message.startswith(f"AUTH_SECRET {reason}") and "\n" not in message
    assert message.endswith(f"generate one: {GENERATE_SECRET}")


@pytest.mark.parametrize(
    "secret",
    [
        GOOD_SECRET,
        GOOD_SECRET.upper(),
        "yQwUBPEcYzZ2Rv6Vfsj_zhC_wT7WkZxk0ac_C4DO-SI",
        "7dbA7b7hFfjic177aC0fVxIdPld6f4vbkloWvcjmr9Y",
        "qv8WfKG7biPblkZMno6pcOPImsW86XJC2hX9qFIp5EQ=",
        TEST_SECRET,
    ],
)
def test_settings_production_accepts_csprng_shaped_secrets(tmp_path: Path, secret: str) -> None:
    settings = Settings.from_env(production_env(tmp_path, AUTH_SECRET=secret), env_file=None)
    assert settings.auth_secret == secret


def test_settings_secret_check_accepts_random_values_of_every_usual_encoding() -> None:
    # A seeded generator stands in for the CSPRNG: the same 32-byte values on every run.
    rng = random.Random(17)
    refused = []
    for _ in range(2000):
        raw = rng.randbytes(32)
        for secret in (
            raw.hex(),
            raw.hex().upper(),
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        ):
            if secret_weakness(secret):
                refused.append(secret)
    assert refused == []


@pytest.mark.parametrize(
    "base_url", ["https://", "https:evil", "http:///path", "https://:443", "app.example", "ftp://x"]
)
@pytest.mark.parametrize("app_env", ["development", "production"])
def test_settings_refuse_base_url_without_a_host(tmp_path: Path, base_url: str, app_env: str) -> None:
    env = production_env(tmp_path, APP_ENV=app_env, BASE_URL=base_url)
    with pytest.raises(
        SettingsError, match=r"^BASE_URL must be http\(s\)://host\[:port\], like https://app.example"
    ):
        Settings.from_env(env, env_file=None)


def test_settings_refuse_base_url_with_a_malformed_port(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BASE_URL is not a valid URL"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "BASE_URL": "http://app.example:99999"}, env_file=None)


def test_settings_production_refuses_trusting_every_proxy(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(production_env(tmp_path, TRUSTED_PROXIES="10.0.0.1,*"), env_file=None)
    message = str(refused.value)
    assert message.startswith("TRUSTED_PROXIES=* lets any peer name the client address")
    assert "TRUSTED_PROXY_HOPS" in message and "\n" not in message


def test_settings_development_may_trust_every_proxy(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "TRUSTED_PROXIES": "*"}, env_file=None)
    assert settings.trusted_proxies == ("*",)


def test_settings_proxy_hops_and_trusted_hosts_are_read(tmp_path: Path) -> None:
    env = production_env(tmp_path, TRUSTED_PROXY_HOPS="2", TRUSTED_HOSTS="WWW.App.Example, api.app.example")
    settings = Settings.from_env(env, env_file=None)
    assert settings.trusted_proxy_hops == 2
    assert settings.trusted_hosts == ("www.app.example", "api.app.example")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("TRUSTED_PROXY_HOPS", "one", "TRUSTED_PROXY_HOPS must be a whole number from 0 to 10"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS must be a whole number"),
        ("TRUSTED_PROXY_HOPS", "11", "TRUSTED_PROXY_HOPS must be a whole number"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal", "'proxy.internal' is not an IP address or CIDR"),
    ],
)
def test_settings_refuse_malformed_proxy_settings(tmp_path: Path, name: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        Settings.from_env({"DATA_DIR": str(tmp_path), name: value}, env_file=None)
