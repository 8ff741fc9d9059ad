"""Emailed sign-in links: single use, 15 minutes, bound to the asking browser, same answer for any address."""

from __future__ import annotations

import pyotp
import pytest

from domain.auth import totp
from domain.auth.magic_links import follow_magic_link, request_magic_link
from domain.auth.second_factor import complete_sign_in
from domain.auth.tables import Session, User, Verification
from domain.auth.types import AuthUser
from domain.errors import RateLimited, ValidationFailed
from tests.domain.conftest import Env

BROWSER = "binding-secret-of-the-asking-browser"


async def requested(env: Env, email: str) -> str:
    assert await request_magic_link(env.auth, email=email, ip="192.0.2.1", binding=BROWSER) == email
    await env.auth.drain()
    [mail] = [m for m in await env.mails_to(email) if m.subject == "Your sign-in link"][-1:]
    return mail.text.split("?token=", 1)[1].split()[0]


async def two_factor_on(env: Env, user: AuthUser) -> pyotp.TOTP:
    """Turn two-factor on for `user`; returns the authenticator app's codes."""
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    await totp.confirm_enrolment(env.auth, user, app.at(env.clock()))
    return app


async def test_magic_link_signs_in_the_asking_browser_once(env: Env) -> None:
    user = await env.user("ada@example.com", password=None)
    token = await requested(env, "ada@example.com")
    outcome = await follow_magic_link(env.auth, token, binding=BROWSER, ip="192.0.2.1", user_agent="t")
    assert outcome.signed_in is not None and outcome.signed_in.user.id == user.id
    with pytest.raises(ValidationFailed, match="invalid or has expired"):
        await follow_magic_link(env.auth, token, binding=BROWSER, ip="192.0.2.1", user_agent="t")


async def test_magic_link_expires_after_fifteen_minutes(env: Env) -> None:
    await env.user("ada@example.com")
    token = await requested(env, "ada@example.com")
    env.clock.advance(15 * 60 + 1)
    with pytest.raises(ValidationFailed):
        await follow_magic_link(env.auth, token, binding=BROWSER, ip="192.0.2.1", user_agent="t")


async def test_magic_link_in_another_browser_asks_to_confirm_first(env: Env) -> None:
    user = await env.user("ada@example.com")
    token = await requested(env, "ada@example.com")
    for binding in ("", "another browser"):
        outcome = await follow_magic_link(env.auth, token, binding=binding, ip="192.0.2.2", user_agent="t")
        assert outcome.needs_confirmation and outcome.signed_in is None
    outcome = await follow_magic_link(
        env.auth, token, binding="another browser", ip="192.0.2.2", user_agent="t", confirmed=True
    )
    assert outcome.signed_in is not None and outcome.signed_in.user.id == user.id


async def test_magic_link_same_answer_for_free_addresses_and_no_mail(env: Env) -> None:
    assert await request_magic_link(
        env.auth, email=" Free@Example.com ", ip="192.0.2.1", binding=BROWSER
    ) == ("free@example.com")
    await env.auth.drain()
    assert await env.mails_to("free@example.com") == []
    assert await User.count() == 0 and await Verification.count() == 0


async def test_magic_link_requests_are_limited_per_address_and_per_ip(env: Env) -> None:
    for n in range(5):
        await request_magic_link(env.auth, email="ada@example.com", ip=f"192.0.2.{n}", binding=BROWSER)
    with pytest.raises(RateLimited):
        await request_magic_link(env.auth, email="ada@example.com", ip="192.0.2.99", binding=BROWSER)
    for n in range(4):
        await request_magic_link(env.auth, email=f"u{n}@example.com", ip="198.51.100.1", binding=BROWSER)
    await request_magic_link(env.auth, email="u9@example.com", ip="198.51.100.1", binding=BROWSER)
    with pytest.raises(RateLimited):
        await request_magic_link(env.auth, email="u10@example.com", ip="198.51.100.1", binding=BROWSER)


async def test_magic_link_leaves_the_second_factor_to_follow_when_two_factor_is_on(env: Env) -> None:
    user = await env.user("ada@example.com")
    app = await two_factor_on(env, user)
    token = await requested(env, "ada@example.com")
    outcome = await follow_magic_link(env.auth, token, binding=BROWSER, ip="192.0.2.1", user_agent="t")
    assert outcome.signed_in is None and outcome.second_factor
    assert await Session.count() == 0
    env.clock.advance(30)
    signed = await complete_sign_in(
        env.auth, binding=BROWSER, code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
    )
    assert signed.user.id == user.id


async def test_magic_link_confirmed_elsewhere_holds_the_second_factor_for_that_device(env: Env) -> None:
    user = await env.user("ada@example.com")
    app = await two_factor_on(env, user)
    token = await requested(env, "ada@example.com")
    device = "fresh secret of the device that confirmed"
    outcome = await follow_magic_link(
        env.auth, token, binding="", ip="192.0.2.2", user_agent="t", confirmed=True, hold=device
    )
    assert outcome.second_factor and await Session.count() == 0
    env.clock.advance(30)
    with pytest.raises(ValidationFailed):
        await complete_sign_in(
            env.auth, binding=BROWSER, code=app.at(env.clock()), ip="192.0.2.1", user_agent="t"
        )
    signed = await complete_sign_in(
        env.auth, binding=device, code=app.at(env.clock()), ip="192.0.2.2", user_agent="t"
    )
    assert signed.user.id == user.id


async def test_magic_link_proves_an_unconfirmed_address(env: Env) -> None:
    await env.user("ada@example.com", verified=False)
    token = await requested(env, "ada@example.com")
    outcome = await follow_magic_link(env.auth, token, binding=BROWSER, ip="192.0.2.1", user_agent="t")
    assert outcome.signed_in is not None and outcome.signed_in.user.email_verified
