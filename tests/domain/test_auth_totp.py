"""TOTP two-factor: enrolment, codes computed by pyotp, reuse and rate limits, backup codes, disabling."""

from __future__ import annotations

import pyotp
import pytest

from domain.auth import totp
from domain.auth.core import AuthLimits, Limit
from domain.auth.sealing import methods_key, seal, unseal
from domain.auth.tables import BackupCode, TwoFactor
from domain.auth.types import AuthUser
from domain.errors import Conflict, RateLimited, ValidationFailed
from tests.domain.conftest import PASSWORD, Env


async def enrolled(env: Env, email: str = "ada@example.com") -> tuple[AuthUser, pyotp.TOTP, list[str]]:
    user = await env.user(email)
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.parse_uri(enrolment.uri)
    assert isinstance(app, pyotp.TOTP)
    codes = await totp.confirm_enrolment(env.auth, user, app.at(env.clock()))
    return user, app, codes


async def test_totp_enrolment_gives_uri_qr_svg_and_manual_key_and_seals_the_secret(env: Env) -> None:
    user = await env.user("ada@example.com")
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.parse_uri(enrolment.uri)
    assert enrolment.uri.startswith("otpauth://totp/") and "issuer=testserver.local" in enrolment.uri
    assert enrolment.qr_svg.startswith("<svg") and "<path" in enrolment.qr_svg
    assert enrolment.manual_key.replace(" ", "") == app.secret
    stored = await TwoFactor.select(TwoFactor.secret, TwoFactor.confirmed).first()
    assert stored is not None and app.secret not in stored["secret"] and not stored["confirmed"]
    assert not await totp.two_factor_enabled(user.id)


async def test_totp_confirm_needs_a_right_code_and_returns_ten_single_use_backup_codes(env: Env) -> None:
    user = await env.user("ada@example.com")
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    with pytest.raises(ValidationFailed):
        await totp.confirm_enrolment(env.auth, user, app.at(env.clock(), counter_offset=5))
    assert not await totp.two_factor_enabled(user.id)
    codes = await totp.confirm_enrolment(env.auth, user, app.at(env.clock()))
    assert len(codes) == 10 == len(set(codes))
    assert await totp.two_factor_enabled(user.id)
    hashes = {row["code_hash"] for row in await BackupCode.select(BackupCode.code_hash)}
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    assert [m.subject for m in await env.mails_to(user.email)] == ["A sign-in method of your account changed"]
    with pytest.raises(Conflict):
        await totp.start_enrolment(env.auth, user)


async def test_totp_code_accepted_once_within_one_step_either_side(env: Env) -> None:
    env.auth.limits = AuthLimits(second_factor=Limit(20, 60))  # more attempts than the checks below make
    user, app, _ = await enrolled(env)
    env.clock.advance(30)
    await totp.verify_code(env.auth, user.id, app.at(env.clock(), counter_offset=1))
    with pytest.raises(ValidationFailed, match="already used"):
        await totp.verify_code(env.auth, user.id, app.at(env.clock(), counter_offset=1))
    # A code of an earlier step than the last one accepted is refused too, though still in the window.
    with pytest.raises(ValidationFailed, match="already used"):
        await totp.verify_code(env.auth, user.id, app.at(env.clock()))
    env.clock.advance(120)
    with pytest.raises(ValidationFailed, match="not right"):
        await totp.verify_code(env.auth, user.id, app.at(env.clock(), counter_offset=-2))
    await totp.verify_code(env.auth, user.id, app.at(env.clock(), counter_offset=-1))
    with pytest.raises(ValidationFailed, match="not right"):
        await totp.verify_code(env.auth, user.id, "12345x")


async def test_totp_the_enrolment_code_cannot_be_used_again_to_sign_in(env: Env) -> None:
    user, app, _ = await enrolled(env)
    with pytest.raises(ValidationFailed, match="already used"):
        await totp.verify_second_factor(env.auth, user.id, app.at(env.clock()))


async def test_totp_backup_code_works_once(env: Env) -> None:
    user, _, codes = await enrolled(env)
    assert await totp.verify_second_factor(env.auth, user.id, codes[3].upper()) == "backup_code"
    assert await totp.backup_codes_left(user.id) == 9
    with pytest.raises(ValidationFailed):
        await totp.verify_second_factor(env.auth, user.id, codes[3])
    other = await env.user("bob@example.com")
    with pytest.raises(ValidationFailed):  # not enrolled: no backup code of anyone else counts
        await totp.use_backup_code(env.auth, other.id, codes[4])


async def test_totp_wrong_codes_are_rate_limited_per_account(env: Env) -> None:
    user, app, codes = await enrolled(env)
    other, other_app, _ = await enrolled(env, "bob@example.com")
    # The enrolment spent one attempt; four wrong ones use up the rest of the five.
    for _ in range(4):
        with pytest.raises(ValidationFailed):
            await totp.verify_code(env.auth, user.id, "000000")
    env.clock.advance(30)
    with pytest.raises(RateLimited):
        await totp.verify_code(env.auth, user.id, app.at(env.clock()))
    with pytest.raises(RateLimited):
        await totp.verify_second_factor(env.auth, user.id, codes[0])
    await totp.verify_code(env.auth, other.id, other_app.at(env.clock()))


async def test_totp_disable_needs_password_and_a_code(env: Env) -> None:
    user, app, _ = await enrolled(env)
    env.clock.advance(30)
    with pytest.raises(ValidationFailed, match="current password"):
        await totp.disable(env.auth, user, password="wrong password", code=app.at(env.clock()))
    with pytest.raises(ValidationFailed):
        await totp.disable(env.auth, user, password=PASSWORD, code="000000")
    assert await totp.two_factor_enabled(user.id)
    await totp.disable(env.auth, user, password=PASSWORD, code=app.at(env.clock()))
    assert not await totp.two_factor_enabled(user.id)
    assert await BackupCode.count() == 0
    assert len(await env.mails_to(user.email)) == 2


def test_sealed_secret_opens_only_with_its_key_and_owner() -> None:
    key = methods_key("one secret")
    sealed = seal(key, "JBSWY3DPEHPK3PXP", context="totp:1")
    assert unseal(key, sealed, context="totp:1") == "JBSWY3DPEHPK3PXP"
    assert unseal(key, sealed, context="totp:2") is None
    assert unseal(methods_key("another secret"), sealed, context="totp:1") is None
    assert unseal(key, sealed[:-4] + "AAAA", context="totp:1") is None
    assert unseal(key, "JBSWY3DPEHPK3PXP", context="totp:1") is None
