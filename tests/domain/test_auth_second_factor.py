"""A sign-in held for its second factor: no session until a right code from the same browser, used once."""

from __future__ import annotations

import pyotp
import pytest

from domain.auth import totp
from domain.auth.challenges import CHALLENGE_TTL_S
from domain.auth.flows import hold_sign_in
from domain.auth.second_factor import complete_sign_in
from domain.auth.tables import Session
from domain.auth.tokens import hash_token
from domain.errors import RateLimited, ValidationFailed
from tests.domain.conftest import Env

BROWSER = "binding-secret"


async def held(env: Env) -> tuple[int, pyotp.TOTP, list[str]]:
    user = await env.user("ada@example.com")
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    codes = await totp.confirm_enrolment(env.auth, user, app.at(env.clock()))
    await hold_sign_in(env.auth, user.id, binding=BROWSER, method="password")
    env.clock.advance(30)
    return user.id, app, codes


async def test_second_factor_turns_a_held_sign_in_into_a_session_once(env: Env) -> None:
    user_id, app, _ = await held(env)
    assert await Session.count() == 0
    ttl = await env.auth.sessions.redis.ttl(f"auth:ceremony:{hash_token(BROWSER)}")
    assert 0 < ttl <= CHALLENGE_TTL_S
    with pytest.raises(ValidationFailed, match="not right"):
        await complete_sign_in(env.auth, binding=BROWSER, code="000000", ip="192.0.2.1", user_agent="t")
    with pytest.raises(ValidationFailed, match="expired"):  # another browser has nothing held
        await complete_sign_in(
            env.auth, binding="other", code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
        )
    assert await Session.count() == 0
    signed = await complete_sign_in(
        env.auth, binding=BROWSER, code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
    )
    assert signed.user.id == user_id and await Session.count() == 1
    env.clock.advance(30)
    with pytest.raises(ValidationFailed, match="expired"):
        await complete_sign_in(
            env.auth, binding=BROWSER, code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
        )


async def test_second_factor_accepts_a_backup_code(env: Env) -> None:
    user_id, _, codes = await held(env)
    signed = await complete_sign_in(env.auth, binding=BROWSER, code=codes[0], ip="192.0.2.1", user_agent="t")
    assert signed.user.id == user_id
    await hold_sign_in(env.auth, user_id, binding=BROWSER, method="password")
    with pytest.raises(ValidationFailed):
        await complete_sign_in(env.auth, binding=BROWSER, code=codes[0], ip="192.0.2.1", user_agent="t")


async def test_second_factor_guesses_are_rate_limited(env: Env) -> None:
    _, app, _ = await held(env)
    for _ in range(4):
        with pytest.raises(ValidationFailed):
            await complete_sign_in(env.auth, binding=BROWSER, code="000000", ip="192.0.2.1", user_agent="t")
    with pytest.raises(RateLimited):
        await complete_sign_in(
            env.auth, binding=BROWSER, code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
        )
    assert await Session.count() == 0
