"""Typed application settings, built once from the environment and an optional `.env`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values

AppEnv = Literal["development", "production"]

# Values people paste from examples; refusing them in production stops a demo secret going live.
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "your-secret",
        "default-password",
        "replace-me",
        "please-change-me",
        "insecure",
        "development",
        "test",
    }
)
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message is one line meant for the operator."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected a boolean (true/false), got {value!r}")


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob the app has. README.md documents each one under "Settings"."""

    app_env: AppEnv = "development"
    data_dir: Path = Path(".data")
    database_url: str | None = None
    redis_url: str | None = None
    auth_secret: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # Whether BASE_URL was set; when not, `dev`/`serve` in development point it at the port they bind.
    base_url_set: bool = False
    log_level: str = "INFO"
    db_pool_size: int = 10
    # Sign-in, reset and password-check attempts allowed per minute, per IP and per email.
    auth_attempts_per_minute: int = 5
    # Mail: unset SMTP_URL in development writes .eml files to DATA_DIR/mail.
    smtp_url: str | None = None
    mail_from: str = "Remote Stack <no-reply@localhost>"
    # OAuth providers appear only when both id and secret are set.
    google_client_id: str | None = None
    google_client_secret: str | None = None
    github_client_id: str | None = None
    github_client_secret: str | None = None
    # Endpoint overrides (self-hosted GitHub Enterprise, any OIDC issuer, local test providers).
    google_server_metadata_url: str | None = None
    github_api_base_url: str | None = None
    github_oauth_base_url: str | None = None
    # Production hardening.
    trusted_hosts: tuple[str, ...] = ()
    trusted_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    metrics_enabled: bool = False
    # Redis durability: wait for AOF fsync on an external server that supports WAITAOF (7.2+).
    redis_waitaof: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'app.sqlite3').resolve()}"

    @property
    def uses_postgres(self) -> bool:
        return urlsplit(self.resolved_database_url).scheme in {"postgres", "postgresql"}

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings from `environ` (default: the process environment) over `.env`."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = values.get(name)
            return value if value not in (None, "") else None

        app_env = (get("APP_ENV") or "development").lower()
        if app_env not in ("development", "production"):
            raise SettingsError(f"APP_ENV must be 'development' or 'production', got {app_env!r}")
        settings = cls(
            app_env=app_env,  # type: ignore[arg-type]
            data_dir=Path(get("DATA_DIR") or ".data"),
            database_url=get("DATABASE_URL"),
            redis_url=get("REDIS_URL"),
            auth_secret=get("AUTH_SECRET") or "",
            base_url=(get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            base_url_set=get("BASE_URL") is not None,
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            db_pool_size=int(get("DB_POOL_SIZE") or "10"),
            auth_attempts_per_minute=int(get("AUTH_ATTEMPTS_PER_MINUTE") or "5"),
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM") or "Remote Stack <no-reply@localhost>",
            google_client_id=get("GOOGLE_CLIENT_ID"),
            google_client_secret=get("GOOGLE_CLIENT_SECRET"),
            github_client_id=get("GITHUB_CLIENT_ID"),
            github_client_secret=get("GITHUB_CLIENT_SECRET"),
            google_server_metadata_url=get("GOOGLE_SERVER_METADATA_URL"),
            github_api_base_url=get("GITHUB_API_BASE_URL"),
            github_oauth_base_url=get("GITHUB_OAUTH_BASE_URL"),
            trusted_hosts=_csv(get("TRUSTED_HOSTS")),
            trusted_origins=_csv(get("TRUSTED_ORIGINS")),
            trusted_proxies=_csv(get("TRUSTED_PROXIES")),
            metrics_enabled=_flag(get("METRICS_ENABLED"), False),
            redis_waitaof=_flag(get("REDIS_WAITAOF"), False),
        )
        return settings.finalized()

    def finalized(self) -> Settings:
        """Check production rules, and in development fill in a persistent AUTH_SECRET."""
        if self.is_production:
            check_production(self)
            return self
        if self.auth_secret:
            return self
        return replace(self, auth_secret=development_secret(self.data_dir))


def check_production(settings: Settings) -> None:
    """Raise SettingsError with a one-line reason when production settings are unsafe."""
    secret = settings.auth_secret
    if not secret:
        raise SettingsError("AUTH_SECRET is required in production (generate one: openssl rand -hex 32)")
    if secret.strip().lower() in PLACEHOLDER_SECRETS or len(set(secret)) < 8:
        raise SettingsError("AUTH_SECRET is a placeholder value; set a random secret of 32+ characters")
    if len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"AUTH_SECRET is {len(secret)} characters; production needs at least {MIN_SECRET_LENGTH}"
        )
    if urlsplit(settings.base_url).scheme != "https":
        raise SettingsError(f"BASE_URL must be an https:// URL in production, got {settings.base_url!r}")


def development_secret(data_dir: Path) -> str:
    """Return the development AUTH_SECRET kept in DATA_DIR, generating it the first time."""
    path = data_dir / "auth_secret"
    if path.is_file():
        existing = path.read_text().strip()
        if existing:
            return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    # O_EXCL: two processes starting at once agree on the first secret written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
