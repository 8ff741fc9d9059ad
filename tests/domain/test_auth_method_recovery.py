"""Recovery and audit across sign-in methods: events, reset keeps 2FA, admin resets, account deletion."""

from __future__ import annotations

import logging

import pyotp
import pytest

from domain.admin.users import delete_passkey_from_panel, reset_two_factor
from domain.auth import passkeys, totp
from domain.auth.account import erase_user
from domain.auth.magic_links import follow_magic_link, request_magic_link
from domain.auth.recovery import request_password_reset, reset_password
from domain.auth.tables import BackupCode, Passkey, TwoFactor
from domain.auth.types import AuthUser
from tests.conftest import TEST_BASE_URL
from tests.domain.conftest import Env
from tests.support import authenticator

BROWSER = "binding-secret"


async def with_every_method(
    env: Env, email: str = "ada@example.com"
) -> tuple[AuthUser, authenticator.Credential]:
    user = await env.user(email)
    enrolment = await totp.start_enrolment(env.auth, user)
    app = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    await totp.confirm_enrolment(env.auth, user, app.at(env.clock()))
    options = await passkeys.registration_options(env.auth, user, binding=BROWSER)
    credential, response = authenticator.create(options, TEST_BASE_URL)
    await passkeys.finish_registration(env.auth, user, binding=BROWSER, response=response, name="Key")
    return user, credential


async def last_token(env: Env, email: str) -> str:
    return (
        [m for m in await env.mails_to(email) if "?token=" in m.text][-1]
        .text.split("?token=", 1)[1]
        .split()[0]
    )


async def test_every_method_added_used_and_removed_is_an_auth_event(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote_stack.auth"):
        user, credential = await with_every_method(env)
        options = await passkeys.authentication_options(env.auth, binding=BROWSER)
        response = authenticator.get(options, TEST_BASE_URL, credential)
        await passkeys.finish_authentication(
            env.auth, binding=BROWSER, response=response, ip="192.0.2.1", user_agent="t"
        )
        await request_magic_link(env.auth, email=user.email, ip="192.0.2.1", binding=BROWSER)
        await env.auth.drain()
        await follow_magic_link(
            env.auth, await last_token(env, user.email), binding=BROWSER, ip="192.0.2.1", user_agent="t"
        )
        [view] = await passkeys.list_passkeys(user.id)
        await passkeys.delete_passkey(env.auth, user.id, view.id)
        await reset_two_factor(env.auth.outbox, env.auth.base_url, user.id, by=None)
    events = {r.getMessage().split()[0].removeprefix("auth.event=") for r in caplog.records}
    assert {
        "two_factor.enabled",
        "passkey.added",
        "passkey.used",
        "magic_link.used",
        "passkey.removed",
        "two_factor.reset_by_admin",
    } <= events
    notices = [
        m for m in await env.mails_to(user.email) if m.subject == "A sign-in method of your account changed"
    ]
    assert len(notices) == 4  # 2FA on, passkey added, passkey removed, 2FA reset


async def test_a_password_reset_keeps_two_factor_and_passkeys(env: Env) -> None:
    user, _ = await with_every_method(env)
    await request_password_reset(env.auth, email=user.email, ip="192.0.2.1")
    await env.auth.drain()
    await reset_password(env.auth, token=await last_token(env, user.email), password="a brand new password")
    assert await totp.two_factor_enabled(user.id)
    assert await totp.backup_codes_left(user.id) == 10
    assert await Passkey.count() == 1


async def test_admin_removes_a_passkey_and_resets_two_factor_of_one_user_only(env: Env) -> None:
    user, _ = await with_every_method(env)
    other, _ = await with_every_method(env, "bob@example.com")
    [view] = await passkeys.list_passkeys(user.id)
    await delete_passkey_from_panel(env.auth, view.id, by=None)
    assert await reset_two_factor(env.auth.outbox, env.auth.base_url, user.id, by=None)
    assert not await reset_two_factor(env.auth.outbox, env.auth.base_url, user.id, by=None)
    assert not await totp.two_factor_enabled(user.id) and await totp.two_factor_enabled(other.id)
    assert await passkeys.list_passkeys(user.id) == [] and len(await passkeys.list_passkeys(other.id)) == 1
    assert await BackupCode.count() == 10


async def test_deleting_an_account_removes_its_passkeys_and_two_factor(env: Env) -> None:
    user, _ = await with_every_method(env)
    await erase_user(env.auth, user.id)
    assert (await Passkey.count(), await TwoFactor.count(), await BackupCode.count()) == (0, 0, 0)
