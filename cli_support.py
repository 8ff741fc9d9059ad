"""What every command-line module shares: the one-line error, progress lines, the database for one command."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from domain import db
from settings import Settings


class CommandError(Exception):
    """A command failed in a way the operator can fix; printed as one line, exit code 2."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[None]:
    """Bind the tables to the settings' database for one CLI command."""
    engine = db.make_engine(settings.resolved_database_url)
    db.bind_engine(engine)
    try:
        await db.prepare(engine, pool_size=2)
    except (OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
        # Unreachable server, wrong credentials, missing database, a path that is not a file.
        raise CommandError(
            f"cannot open the database {redact(settings.resolved_database_url)}: {exc}"
        ) from None
    try:
        yield
    finally:
        await db.close(engine)


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
