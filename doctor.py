"""`python app.py doctor`: check a deployment's settings where they usually go wrong, one line per finding."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import smtplib
import sqlite3
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
from redis.exceptions import RedisError

from actors.connection import create_redis
from actors.durability import check_durability, supports_waitaof
from actors.embedded import EmbeddedRedis
from domain import db
from domain.mail import SmtpMailer, parse_smtp_url
from domain.migrations import pending_migrations
from settings import Settings
from web.auth.cookies import cookie_name
from web.auth.oauth import callback_url

Level = Literal["ok", "info", "warn", "error"]
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
PROVIDERS = (("google", "Google"), ("github", "GitHub"))
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: what was checked, what was found and, for a problem, the fix."""

    level: Level
    area: str
    text: str

    def line(self) -> str:
        return f"{self.level.upper():<5} {self.area}: {self.text}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_base_url(settings: Settings) -> list[Finding]:
    parts = urlsplit(settings.base_url)
    found: list[Finding] = []
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return [Finding("error", "BASE_URL", f"{settings.base_url!r} is not an http(s) URL; set BASE_URL")]
    if parts.path not in {"", "/"} or parts.query:
        found.append(
            Finding(
                "error",
                "BASE_URL",
                f"{settings.base_url} has a path; the app serves from / only: "
                f"set BASE_URL={_origin(settings.base_url)}",
            )
        )
    public = parts.hostname not in LOCAL_HOSTS
    if settings.is_production and not public:
        found.append(
            Finding(
                "error",
                "BASE_URL",
                f"{settings.base_url} points at this machine: mail and OAuth links will not reach users; "
                "set BASE_URL to the public https:// address",
            )
        )
    if not settings.is_production and public:
        found.append(
            Finding(
                "warn",
                "APP_ENV",
                f"development settings for the public address {settings.base_url} (cookies not Secure, "
                "no Host check, /dev/mail open): set APP_ENV=production",
            )
        )
    if not found:
        found.append(Finding("ok", "BASE_URL", f"{settings.base_url} (links in mail and OAuth callbacks)"))
    return found


def check_cookies(settings: Settings) -> list[Finding]:
    name = cookie_name(settings)
    base_host = urlsplit(settings.base_url).hostname or ""
    if not settings.is_production:
        return [Finding("info", "cookies", f"{name}: HttpOnly, SameSite=Lax, not Secure (development)")]
    found = [
        Finding(
            "ok", "cookies", f"{name}: Secure, HttpOnly, SameSite=Lax, host-only (no Domain) on {base_host}"
        )
    ]
    others = [h for h in settings.trusted_hosts if h.split(":")[0].lower() != base_host.lower()]
    if others:
        found.append(
            Finding(
                "warn",
                "cookies",
                f"TRUSTED_HOSTS also admits {', '.join(others)}: a sign-in there is not a sign-in on "
                f"{base_host} (cookies are host-only); redirect those hosts to BASE_URL at the proxy",
            )
        )
    return found


def check_oauth(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    for key, label in PROVIDERS:
        client_id = getattr(settings, f"{key}_client_id")
        secret = getattr(settings, f"{key}_client_secret")
        upper = key.upper()
        if client_id and secret:
            found.append(
                Finding(
                    "ok",
                    f"{label} OAuth",
                    f"redirect URI to paste into {label}'s console: {callback_url(settings, key)}",
                )
            )
        elif client_id or secret:
            have, lack = (
                (f"{upper}_CLIENT_ID", f"{upper}_CLIENT_SECRET")
                if client_id
                else (f"{upper}_CLIENT_SECRET", f"{upper}_CLIENT_ID")
            )
            found.append(
                Finding("error", f"{label} OAuth", f"{have} is set but {lack} is not: set both or neither")
            )
    if not found:
        found.append(
            Finding("info", "OAuth", "no provider configured (set GOOGLE_* or GITHUB_* to offer one)")
        )
    return found


def check_proxies(settings: Settings) -> list[Finding]:
    for entry in settings.trusted_proxies:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return [
                Finding(
                    "error",
                    "TRUSTED_PROXIES",
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8); fix TRUSTED_PROXIES",
                )
            ]
    if "*" in settings.trusted_proxies and settings.is_production:
        return [
            Finding(
                "warn",
                "TRUSTED_PROXIES",
                "'*' believes X-Forwarded-For from any client, so clients choose their own IP (rate limits); "
                "list the proxy's address instead",
            )
        ]
    if not settings.trusted_proxies and settings.is_production:
        return [
            Finding(
                "warn",
                "TRUSTED_PROXIES",
                "unset: behind a reverse proxy every client has the proxy's IP (one rate limit for all) and "
                "requests look like http; set TRUSTED_PROXIES to the proxy's address",
            )
        ]
    listed = ", ".join(settings.trusted_proxies) or "none (clients connect directly)"
    return [Finding("ok", "TRUSTED_PROXIES", listed)]


def check_smtp(settings: Settings) -> list[Finding]:
    if settings.smtp_url is None:
        if settings.is_production:
            return [
                Finding(
                    "error",
                    "SMTP_URL",
                    "unset: sign-up and password-reset mail cannot be sent; set SMTP_URL=smtp://user:pass@host:587",
                )
            ]
        mail_dir = settings.data_dir / "mail"
        return [Finding("info", "SMTP_URL", f"unset: mail is written to {mail_dir} and shown at /dev/mail")]
    try:
        target = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        return [Finding("error", "SMTP_URL", f"{exc}")]
    where = f"{target.host}:{target.port}"
    try:
        with SmtpMailer(target, settings.mail_from).connect() as client:
            client.noop()
    except smtplib.SMTPAuthenticationError:
        return [Finding("error", "SMTP_URL", f"{where} refused the user and password in SMTP_URL")]
    except (OSError, smtplib.SMTPException) as exc:
        return [
            Finding(
                "error",
                "SMTP_URL",
                f"cannot reach {where} ({exc or type(exc).__name__}); check the host, port and scheme",
            )
        ]
    return [
        Finding(
            "ok", "SMTP_URL", f"{where} answered ({target.mode}{', logged in' if target.username else ''})"
        )
    ]


async def check_redis(settings: Settings) -> list[Finding]:
    url = settings.redis_url
    if url is None:
        # The embedded server a running app started; none running is fine, the app starts one.
        embedded = EmbeddedRedis(settings.data_dir)
        unset = Finding(
            "info",
            "REDIS_URL",
            f"unset: the app runs its own Redis (AOF, fsync always, noeviction) in {embedded.directory}",
        )
        if not embedded.socket_path.exists():
            return [unset]
        url = embedded.url
    redis = create_redis(url)
    try:
        warnings = await check_durability(redis)
        waitaof = await supports_waitaof(redis)
    except (RedisError, OSError) as exc:
        if settings.redis_url is None:
            return [unset]
        return [Finding("error", "REDIS_URL", f"Redis at {url} did not answer ({exc}); check REDIS_URL")]
    finally:
        await redis.aclose()
    found = [Finding("error", "Redis durability", warning) for warning in warnings]
    if settings.redis_waitaof and not waitaof:
        found.append(
            Finding("error", "REDIS_WAITAOF", "true, but the server lacks WAITAOF (Redis 7.2+); unset it")
        )
    if not found:
        found.append(
            Finding("ok", "Redis durability", "AOF on, appendfsync always, maxmemory-policy noeviction")
        )
    return found


async def check_database(settings: Settings) -> list[Finding]:
    url = settings.resolved_database_url
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.hostname else url
    try:
        engine = db.make_engine(url)
    except ValueError as exc:
        return [Finding("error", "DATABASE_URL", str(exc))]
    db.bind_engine(engine)
    try:
        await db.prepare(engine, pool_size=1)
        version = await db.describe(engine)
        pending = await pending_migrations()
    except (OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
        return [Finding("error", "DATABASE_URL", f"cannot open {shown}: {exc}")]
    finally:
        await db.close(engine)
    if pending:
        return [
            Finding(
                "warn",
                "migrations",
                f"{len(pending)} pending on {shown}: run python app.py migrate "
                "(serve also applies them on start)",
            )
        ]
    return [Finding("ok", "DATABASE_URL", f"{version} at {shown}, every migration applied")]


def probe(settings: Settings, url: str) -> list[Finding]:
    """Ask the running app at `url` for a page: is it reachable there, and does it agree with BASE_URL?"""
    target = url.rstrip("/")
    try:
        response = httpx.get(target + "/auth/sign-in", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return [Finding("error", "--url", f"cannot reach {target}: {exc or type(exc).__name__}")]
    host = urlsplit(target).netloc
    found: list[Finding] = []
    if response.status_code == 400 and settings.is_production:
        found.append(
            Finding(
                "error",
                "Host",
                f"the app refuses Host {host}: set BASE_URL to this address or add {host} to TRUSTED_HOSTS",
            )
        )
    elif response.status_code >= 400:
        found.append(Finding("error", "--url", f"{target}/auth/sign-in answered {response.status_code}"))
    if _origin(target) != _origin(settings.base_url):
        found.append(
            Finding(
                "error",
                "BASE_URL",
                f"the app is reached at {_origin(target)} but BASE_URL is {settings.base_url}: mail links "
                f"and OAuth callbacks go there; set BASE_URL={_origin(target)}",
            )
        )
    cookies = response.headers.get_list("set-cookie")
    if urlsplit(target).scheme == "http" and settings.is_production:
        found.append(
            Finding(
                "error",
                "cookies",
                f"{target} is plain http, but production cookies are Secure: browsers drop them, "
                "so nobody stays signed in; serve over https",
            )
        )
    elif urlsplit(target).scheme == "https" and any("secure" not in c.lower() for c in cookies):
        found.append(
            Finding(
                "warn", "cookies", f"{target} sets cookies without Secure over https: set APP_ENV=production"
            )
        )
    if not found:
        found.append(Finding("ok", "--url", f"{target} answered {response.status_code} and matches BASE_URL"))
    return found


def diagnose(settings: Settings, url: str | None = None) -> list[Finding]:
    """Every check, in the order an operator fixes things."""

    async def stores() -> list[Finding]:
        return [*await check_database(settings), *await check_redis(settings)]

    findings = [
        *check_base_url(settings),
        *check_cookies(settings),
        *check_oauth(settings),
        *check_proxies(settings),
        *check_smtp(settings),
        *asyncio.run(stores()),
    ]
    if url:
        findings.extend(probe(settings, url))
    return findings


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    findings = diagnose(settings, args.url)
    for finding in findings:
        print(finding.line(), flush=True)
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    print(f"{errors} error{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}")
    return 1 if errors else 0


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help="also probe the running app at this address (the one users open), e.g. https://app.example.com",
    )
    parser.epilog = "Exit status 1 when any finding is an error; warnings alone exit 0."
