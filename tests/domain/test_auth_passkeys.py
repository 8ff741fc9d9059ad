"""Passkeys with a software authenticator holding a real P-256 key: ceremonies, counters, RP and binding."""

from __future__ import annotations

import json
import logging

import pytest

from domain.auth import passkeys
from domain.auth.account import has_password
from domain.auth.challenges import CHALLENGE_TTL_S
from domain.auth.flows import follow_link
from domain.auth.passkey_signup import finish_sign_up, sign_up_options
from domain.auth.tables import Passkey, User
from domain.auth.tokens import hash_token
from domain.auth.types import AuthUser
from domain.errors import NotFound, ValidationFailed
from tests.conftest import TEST_BASE_URL
from tests.domain.conftest import Env
from tests.support import authenticator
from tests.support.authenticator import Credential

BROWSER = "binding-secret-of-one-browser"
ORIGIN = TEST_BASE_URL


async def registered(env: Env, user: AuthUser, name: str = "Laptop") -> Credential:
    options = await passkeys.registration_options(env.auth, user, binding=BROWSER)
    credential, response = authenticator.create(options, ORIGIN)
    await passkeys.finish_registration(env.auth, user, binding=BROWSER, response=response, name=name)
    return credential


async def sign_in(env: Env, credential: Credential, *, step: int = 1, binding: str = BROWSER) -> int:
    options = await passkeys.authentication_options(env.auth, binding=BROWSER)
    response = authenticator.get(options, ORIGIN, credential, step=step)
    signed = await passkeys.finish_authentication(
        env.auth, binding=binding, response=response, ip="192.0.2.1", user_agent="test"
    )
    return signed.user.id


async def test_passkey_register_then_sign_in_with_a_discoverable_credential(env: Env) -> None:
    user = await env.user("ada@example.com")
    options = json.loads(await passkeys.registration_options(env.auth, user, binding=BROWSER))
    assert options["rp"]["id"] == "testserver.local"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    credential = await registered(env, user)
    [view] = await passkeys.list_passkeys(user.id)
    assert view.name == "Laptop" and view.last_used_at is None
    request = json.loads(await passkeys.authentication_options(env.auth, binding=BROWSER))
    assert request["allowCredentials"] == [] and request["rpId"] == "testserver.local"
    response = authenticator.get(json.dumps(request), ORIGIN, credential)
    signed = await passkeys.finish_authentication(
        env.auth, binding=BROWSER, response=response, ip="192.0.2.1", user_agent="test"
    )
    assert signed.user.id == user.id and signed.token
    [view] = await passkeys.list_passkeys(user.id)
    assert view.last_used_at is not None
    assert await Passkey.select(Passkey.sign_count).first() == {"sign_count": 1}
    assert [m.subject for m in await env.mails_to(user.email)] == ["A sign-in method of your account changed"]


async def test_passkey_challenge_is_single_use_bound_to_the_browser_and_short_lived(env: Env) -> None:
    user = await env.user("ada@example.com")
    credential = await registered(env, user)
    options = await passkeys.authentication_options(env.auth, binding=BROWSER)
    ttl = await env.auth.sessions.redis.ttl(f"auth:ceremony:{hash_token(BROWSER)}")
    assert 0 < ttl <= CHALLENGE_TTL_S
    response = authenticator.get(options, ORIGIN, credential)
    with pytest.raises(ValidationFailed):  # another browser cannot answer this browser's challenge
        await passkeys.finish_authentication(
            env.auth, binding="another browser", response=response, ip="192.0.2.1", user_agent="t"
        )
    await passkeys.finish_authentication(
        env.auth, binding=BROWSER, response=response, ip="192.0.2.1", user_agent="t"
    )
    with pytest.raises(ValidationFailed):  # replaying the same answer: its challenge is used up
        await passkeys.finish_authentication(
            env.auth, binding=BROWSER, response=response, ip="192.0.2.1", user_agent="t"
        )


async def test_passkey_counter_that_does_not_move_forward_is_refused_unless_both_are_zero(env: Env) -> None:
    user = await env.user("ada@example.com")
    credential = await registered(env, user)
    assert await sign_in(env, credential, step=3) == user.id
    with pytest.raises(ValidationFailed):
        await sign_in(env, credential, step=0)
    with pytest.raises(ValidationFailed):
        await sign_in(env, credential, step=-2)
    synced = await registered(env, user, "Phone")
    assert await sign_in(env, synced, step=0) == user.id
    assert await sign_in(env, synced, step=0) == user.id


async def test_passkey_for_another_rp_id_or_origin_is_refused(env: Env) -> None:
    user = await env.user("ada@example.com")
    options = await passkeys.registration_options(env.auth, user, binding=BROWSER)
    _, response = authenticator.create(options, ORIGIN, rp_id="evil.example")
    with pytest.raises(ValidationFailed):
        await passkeys.finish_registration(env.auth, user, binding=BROWSER, response=response)
    options = await passkeys.registration_options(env.auth, user, binding=BROWSER)
    _, response = authenticator.create(options, "https://evil.example")
    with pytest.raises(ValidationFailed):
        await passkeys.finish_registration(env.auth, user, binding=BROWSER, response=response)
    assert await passkeys.list_passkeys(user.id) == []
    credential = await registered(env, user)
    credential.rp_id = "evil.example"  # the same key, asserting for another site
    with pytest.raises(ValidationFailed):
        await sign_in(env, credential)


async def test_passkey_garbage_answers_are_refused_with_a_message(env: Env) -> None:
    user = await env.user("ada@example.com")
    garbage_answers = [
        "",
        "{",
        "[]",
        '{"id": 1}',
        json.dumps({"id": "x", "rawId": "x", "response": {}}),
        "x" * 70000,
    ]
    for n, garbage in enumerate(garbage_answers):
        await passkeys.registration_options(env.auth, user, binding=BROWSER)
        with pytest.raises(ValidationFailed):
            await passkeys.finish_registration(env.auth, user, binding=BROWSER, response=garbage)
        await passkeys.authentication_options(env.auth, binding=BROWSER)
        with pytest.raises(ValidationFailed):
            await passkeys.finish_authentication(
                env.auth, binding=BROWSER, response=garbage, ip=f"192.0.2.{n}", user_agent="t"
            )
    with pytest.raises(ValidationFailed):
        await passkeys.authentication_options(env.auth, binding="")


async def test_passkey_rename_and_delete_only_the_owners(env: Env) -> None:
    user = await env.user("ada@example.com")
    other = await env.user("bob@example.com")
    credential = await registered(env, user)
    [view] = await passkeys.list_passkeys(user.id)
    with pytest.raises(NotFound):
        await passkeys.rename_passkey(env.auth, other.id, view.id, "Mine now")
    with pytest.raises(NotFound):
        await passkeys.delete_passkey(env.auth, other.id, view.id)
    renamed = await passkeys.rename_passkey(env.auth, user.id, view.id, "  Work   laptop ")
    assert renamed.name == "Work laptop"
    await passkeys.delete_passkey(env.auth, user.id, view.id)
    assert await passkeys.list_passkeys(user.id) == []
    with pytest.raises(ValidationFailed):
        await sign_in(env, credential)
    assert len(await env.mails_to(user.email)) == 2


async def passkey_sign_up(env: Env, email: str, binding: str = BROWSER) -> Credential:
    options = await sign_up_options(env.auth, email=email, name="Grace", binding=binding, ip="192.0.2.1")
    credential, response = authenticator.create(options, ORIGIN)
    assert await finish_sign_up(env.auth, binding=binding, response=response, ip="192.0.2.1") == email
    await env.auth.drain()
    return credential


async def link_token(env: Env, email: str) -> str:
    link = [m for m in await env.mails_to(email) if "?token=" in m.text][-1].text
    return link.split("?token=", 1)[1].split()[0]


async def test_passkey_only_account_signs_up_confirms_in_the_same_browser_and_signs_in(env: Env) -> None:
    credential = await passkey_sign_up(env, "grace@example.com")
    with pytest.raises(ValidationFailed):  # not before the address is proven
        await sign_in(env, credential)
    followed = await follow_link(
        env.auth, await link_token(env, "grace@example.com"), binding=BROWSER, ip="192.0.2.1", user_agent="t"
    )
    assert followed.signed_in is not None and followed.signed_in.user.name == "Grace"
    user_id = followed.signed_in.user.id
    assert not await has_password(user_id)
    assert await sign_in(env, credential) == user_id


async def test_passkey_sign_up_link_followed_elsewhere_drops_the_passkey(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="remote_stack.auth")
    credential = await passkey_sign_up(env, "grace@example.com", binding="the intruder's browser")
    followed = await follow_link(
        env.auth, await link_token(env, "grace@example.com"), binding=BROWSER, ip="192.0.2.1", user_agent="t"
    )
    assert followed.signed_in is None and followed.reset_token
    assert await Passkey.count() == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "remote_stack.auth"]
    assert any(line.startswith("auth.event=passkey.added ") and "method=sign_up" in line for line in lines)
    assert any(
        line.startswith("auth.event=account.claimed ") and "passkeys_removed=1" in line for line in lines
    )
    with pytest.raises(ValidationFailed):
        await sign_in(env, credential)


async def test_passkey_sign_up_for_a_proven_address_adds_nothing(env: Env) -> None:
    await env.user("ada@example.com")
    await passkey_sign_up(env, "ada@example.com")
    assert await Passkey.count() == 0
    assert [m.subject for m in await env.mails_to("ada@example.com")] == ["You already have an account"]
    assert await User.count() == 1
