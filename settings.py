"""Typed application settings, built once from the environment and an optional `.env`."""

from __future__ import annotations

import ipaddress
import math
import os
import re
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
# What a 32-byte CSPRNG value carries: 64 hex digits or 43 characters of base64.
SECRET_BITS = 256
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
# Words people build secrets from; any of them inside AUTH_SECRET means a person typed it.
SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "changeme",
    "admin",
    "qwerty",
    "asdfgh",
    "zxcvbn",
    "letmein",
    "welcome",
    "example",
    "default",
    "insecure",
)
_HEX = frozenset("0123456789abcdef")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")
# Passphrases (`correct-horse-battery`, `CorrectHorseBattery`): a few words, far below 256 bits.
_PHRASE = re.compile(
    r"[A-Za-z][a-z]{1,11}(?P<sep>[-_.,])[A-Za-z][a-z]{1,11}(?:(?P=sep)[A-Za-z][a-z]{1,11})+"
    r"|(?:[A-Z][a-z]{2,11}){3,}"
)
MAX_PROXY_HOPS = 10
MAX_STREAMS = 1_000_000  # a bound for MAX_STREAMS_PER_*: any real cap is far below it


# The product name people see (mail sender, admin title, CLI); a generated project gets its own.
APP_NAME = "Remote Stack"


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


def _whole(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:  # not a number, or more digits than int() reads
        number = low - 1
    if not low <= number <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return number


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
    mail_from: str = f"{APP_NAME} <no-reply@localhost>"
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
    # Proxies in front of the app whose addresses are unknown: the client is the Nth X-Forwarded-For
    # entry from the right (0: use TRUSTED_PROXIES alone).
    trusted_proxy_hops: int = 0
    metrics_enabled: bool = False
    # Actor alarms: tries before the dead letters, first retry delay (doubling), claim lease, and
    # how often one process re-indexes alarms whose writer died between record and index.
    alarm_max_tries: int = 6
    alarm_backoff_seconds: int = 1
    alarm_lease_seconds: int = 30
    alarm_repair_seconds: int = 60
    # How often the sweeper's alarm deletes expired sessions, links and unconfirmed sign-ups.
    sweep_interval_seconds: int = 300
    # Redis durability: wait for AOF fsync on an external server that supports WAITAOF (7.2+).
    redis_waitaof: bool = False
    # Open SSE streams allowed per worker process, in all and per client (IP, session). `serve` sets
    # granian's concurrent-request cap per worker above the first, so other requests never wait on streams.
    # 10,000 is what one worker was measured to hold (bench/sse.py, bench/RESULTS.md).
    max_streams_per_worker: int = 10_000
    max_streams_per_client: int = 32
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
            mail_from=get("MAIL_FROM") or f"{APP_NAME} <no-reply@localhost>",
            google_client_id=get("GOOGLE_CLIENT_ID"),
            google_client_secret=get("GOOGLE_CLIENT_SECRET"),
            github_client_id=get("GITHUB_CLIENT_ID"),
            github_client_secret=get("GITHUB_CLIENT_SECRET"),
            google_server_metadata_url=get("GOOGLE_SERVER_METADATA_URL"),
            github_api_base_url=get("GITHUB_API_BASE_URL"),
            github_oauth_base_url=get("GITHUB_OAUTH_BASE_URL"),
            trusted_hosts=tuple(host.lower() for host in _csv(get("TRUSTED_HOSTS"))),
            trusted_origins=_csv(get("TRUSTED_ORIGINS")),
            trusted_proxies=_csv(get("TRUSTED_PROXIES")),
            trusted_proxy_hops=_whole("TRUSTED_PROXY_HOPS", get("TRUSTED_PROXY_HOPS"), 0, 0, MAX_PROXY_HOPS),
            metrics_enabled=_flag(get("METRICS_ENABLED"), False),
            alarm_max_tries=_whole("ALARM_MAX_TRIES", get("ALARM_MAX_TRIES"), 6, 1, 100),
            alarm_backoff_seconds=_whole("ALARM_BACKOFF_SECONDS", get("ALARM_BACKOFF_SECONDS"), 1, 0, 3600),
            alarm_lease_seconds=_whole("ALARM_LEASE_SECONDS", get("ALARM_LEASE_SECONDS"), 30, 1, 86400),
            alarm_repair_seconds=_whole("ALARM_REPAIR_SECONDS", get("ALARM_REPAIR_SECONDS"), 60, 1, 86400),
            sweep_interval_seconds=_whole(
                "SWEEP_INTERVAL_SECONDS", get("SWEEP_INTERVAL_SECONDS"), 300, 1, 86400
            ),
            redis_waitaof=_flag(get("REDIS_WAITAOF"), False),
            max_streams_per_worker=_whole(
                "MAX_STREAMS_PER_WORKER", get("MAX_STREAMS_PER_WORKER"), 10_000, 1, MAX_STREAMS
            ),
            max_streams_per_client=_whole(
                "MAX_STREAMS_PER_CLIENT", get("MAX_STREAMS_PER_CLIENT"), 32, 1, MAX_STREAMS
            ),
        )
        return settings.finalized()

    def finalized(self) -> Settings:
        """Check production rules, and in development fill in a persistent AUTH_SECRET."""
        check_base_url(self.base_url)
        check_proxies(self.trusted_proxies)
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
        raise SettingsError(f"AUTH_SECRET is required in production (generate one: {GENERATE_SECRET})")
    weakness = secret_weakness(secret)
    if weakness:
        raise SettingsError(f"AUTH_SECRET {weakness}; generate one: {GENERATE_SECRET}")
    if urlsplit(settings.base_url).scheme != "https":
        raise SettingsError(f"BASE_URL must be an https:// URL in production, got {settings.base_url!r}")
    if "*" in settings.trusted_proxies:
        raise SettingsError(
            "TRUSTED_PROXIES=* lets any peer name the client address; list your proxies' IPs/CIDRs, "
            "or set TRUSTED_PROXY_HOPS to the number of proxies in front of the app"
        )


def secret_weakness(secret: str) -> str | None:
    """Why `secret` is not a CSPRNG-shaped 256-bit value (a phrase for an error message), or None.

    The estimate counts bits per character from the alphabet the value uses, and refuses what a
    random value of that shape would almost never show (false refusals well under one in 10^5):
    a placeholder, a common word or a phrase, few distinct characters, or repeats, runs and
    repeated blocks.
    """
    lowered = secret.strip().lower()
    if lowered in PLACEHOLDER_SECRETS:
        return "is a placeholder value"
    word = next((w for w in SECRET_WORDS if w in lowered), None)
    if word:
        return f"contains the word {word!r}"
    if any(c.isspace() for c in secret) or _PHRASE.fullmatch(secret):
        return "is a phrase of words"
    alphabet = _alphabet_size(secret)
    # A random value of this length and alphabet shows about `expected` distinct characters.
    expected = alphabet * (1 - (1 - 1 / alphabet) ** len(secret))
    distinct = len(set(secret))
    if distinct < expected / 2:
        return f"has only {distinct} distinct characters"
    if _predictable(secret) * 4 > len(secret):
        return "is made of repeats or sequences"
    bits = int(len(secret) * math.log2(alphabet))
    if bits < SECRET_BITS:
        return f"carries about {bits} bits ({len(secret)} characters); production needs {SECRET_BITS}"
    return None


def _alphabet_size(secret: str) -> int:
    """How many symbols the value's alphabet has: hex, base64 or the classes of characters it uses."""
    if set(secret) <= _HEX or set(secret) <= frozenset("0123456789ABCDEF"):
        return 16
    has_lower = any(c.islower() for c in secret)
    has_upper = any(c.isupper() for c in secret)
    if set(secret) <= _BASE64 and has_lower and has_upper:
        return 64
    size = 26 * has_lower + 26 * has_upper + 10 * any(c.isdigit() for c in secret)
    if any(not c.isalnum() for c in secret):
        size += 2 if set(secret) <= _BASE64 else 33
    return max(size, 2)


def _predictable(secret: str) -> int:
    """Characters that continue a run (`aaa`, `123`, `cba`) or repeat an earlier block (`abcXabc`)."""
    seen: set[str] = set()
    count = 0
    for i in range(2, len(secret)):
        step = ord(secret[i]) - ord(secret[i - 1])
        trigram = secret[i - 2 : i + 1]
        if (abs(step) <= 1 and step == ord(secret[i - 1]) - ord(secret[i - 2])) or trigram in seen:
            count += 1
        seen.add(trigram)
    return count


def check_base_url(base_url: str) -> None:
    """BASE_URL must name a scheme and a host: links in mail and the origin check are built from it."""
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - parsing the port raises on a malformed one
    except ValueError as exc:
        raise SettingsError(f"BASE_URL is not a valid URL ({exc}), got {base_url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"BASE_URL must be http(s)://host[:port], like https://app.example; got {base_url!r}"
        )


def check_proxies(entries: tuple[str, ...]) -> None:
    """Every TRUSTED_PROXIES entry is `*`, an IP address or a CIDR."""
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR") from None


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
