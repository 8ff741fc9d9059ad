"""Build the process's Auth from settings (called by app.py's lifespan)."""

from __future__ import annotations

from actors.connection import RedisClient
from actors.ratelimit import RateLimitActor
from domain.auth.core import Auth, AuthLimits, Limit
from domain.auth.device_cookie import signing_key
from domain.auth.passwords import PasswordHasher
from domain.auth.sealing import methods_key
from domain.auth.sessions import SessionStore
from domain.mail import make_mailer
from domain.outbox import Outbox
from settings import Settings


def create_auth(settings: Settings, redis: RedisClient) -> Auth:
    return Auth(
        # A sign-in waits at most 0.15 s for a hashing slot, then gets 503: excess is refused quickly.
        hasher=PasswordHasher(max_wait_seconds=0.15),
        sessions=SessionStore(redis),
        outbox=Outbox(
            redis,
            make_mailer(
                smtp_url=settings.smtp_url,
                mail_from=settings.mail_from,
                data_dir=settings.data_dir,
                is_production=settings.is_production,
            ),
        ),
        ratelimit=RateLimitActor(redis),
        base_url=settings.base_url,
        device_key=signing_key(settings.auth_secret),
        methods_key=methods_key(settings.auth_secret),
        limits=AuthLimits(
            sign_in=Limit(settings.auth_attempts_per_minute, 60),
            known_device=Limit(settings.auth_attempts_per_minute, 60),
            reset=Limit(settings.auth_attempts_per_minute, 60),
            password_check=Limit(settings.auth_attempts_per_minute, 60),
        ),
    )


async def close_auth(auth: Auth | None) -> None:
    """Let background work finish (queued mail stays in the outbox for whichever process runs next)."""
    if auth is not None:
        await auth.drain()
        auth.outbox.close()
