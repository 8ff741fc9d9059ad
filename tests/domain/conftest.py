"""Domain fixtures: an Auth on a real migrated database (SQLite; PostgreSQL when set) and real Redis."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actors.alarms import AlarmPolicy, AlarmScheduler
from actors.connection import RedisClient, create_redis
from actors.ratelimit import RateLimitActor
from actors.runtime import ActorSet
from domain import db
from domain.auth.core import Auth
from domain.auth.device_cookie import signing_key
from domain.auth.ownership import set_password
from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher
from domain.auth.sealing import methods_key
from domain.auth.sessions import SessionStore
from domain.auth.tables import User
from domain.auth.types import AuthUser
from domain.mail import FileMailer, StoredMail, list_stored
from domain.migrations import migrate
from domain.outbox import Outbox
from tests.conftest import TEST_BASE_URL, TEST_SECRET
from tests.web.auth_support import outbox_delivered

PASSWORD = "correct horse battery"


class StepClock:
    """A clock tests move forward by hand (TOTP steps, link expiry) instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Env:
    auth: Auth
    clock: StepClock
    mail_dir: Path
    redis: RedisClient

    async def mails_to(self, email: str) -> list[StoredMail]:
        """Mail delivered to `email`, once background work and the outbox's alarms are done."""
        await self.auth.drain()
        await outbox_delivered(self.redis)
        return [m for m in list_stored(self.mail_dir) if m.to == email]

    async def user(self, email: str, *, password: str | None = PASSWORD, verified: bool = True) -> AuthUser:
        now = self.clock()
        rows = await User.insert(
            User(
                email=email, name=email.split("@")[0], email_verified=verified, created_at=now, updated_at=now
            )
        ).returning(User.id)
        if password is not None:
            await set_password(self.auth, rows[0]["id"], await self.auth.hasher.hash(password))
        return AuthUser(id=rows[0]["id"], email=email, name=email.split("@")[0], email_verified=verified)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh SQLite copy of the migrated database, or an empty PostgreSQL one (skipped when absent)."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_sqlite, tmp_path / "app.sqlite3")
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def env(tmp_path: Path, redis_url: str, database_url: str) -> AsyncIterator[Env]:
    """An Auth like the app's lifespan builds, on a fresh migrated database and the embedded Redis."""
    engine = db.make_engine(database_url)
    db.bind_engine(engine)
    await db.prepare(engine)
    await migrate(engine, tmp_path)
    redis = create_redis(redis_url)
    clock = StepClock()
    mail_dir = tmp_path / "mail"
    auth = Auth(
        hasher=PasswordHasher(OWASP_MINIMUM),
        sessions=SessionStore(redis, clock),
        outbox=Outbox(redis, FileMailer(mail_dir, "auth@example.test")),
        ratelimit=RateLimitActor(redis),
        base_url=TEST_BASE_URL,
        device_key=signing_key(TEST_SECRET),
        methods_key=methods_key(TEST_SECRET),
        clock=clock,
    )
    # The outbox's alarms are delivered here as in the app.
    scheduler = AlarmScheduler(ActorSet(redis), AlarmPolicy(poll_interval=0.05))
    await scheduler.start()
    try:
        yield Env(auth=auth, clock=clock, mail_dir=mail_dir, redis=redis)
    finally:
        await auth.drain()
        await scheduler.stop()
        auth.outbox.close()
        await redis.aclose()
        await db.close(engine)
