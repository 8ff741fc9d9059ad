"""Sign up with a passkey and no password: the passkey waits on the emailed link, like a sign-up's password.

The browser creates a passkey for the address; the answer is the same whether or not the address
has an account. A new (or unproven) account gets the passkey marked with the browser's binding
hash and a confirmation link; following that link in the same browser proves the mailbox and
keeps the passkey (domain/auth/ownership.py), anywhere else the passkey goes. A proven address
gets only a "you already have an account" mail.
"""

from __future__ import annotations

import webauthn
from webauthn.helpers import bytes_to_base64url, generate_user_handle

from domain.auth.challenges import Pending, remember, take
from domain.auth.core import Auth
from domain.auth.events import auth_event
from domain.auth.passkeys import (
    NOT_REGISTERED,
    NewCredential,
    creation_options,
    relying_party,
    store_credential,
    verify_creation,
)
from domain.auth.tokens import hash_token
from domain.auth.validation import clean_email, clean_name, raise_if
from domain.auth.verification import reserve_address, send_verification
from domain.errors import ValidationFailed
from domain.mail import Mail


async def sign_up_options(auth: Auth, *, email: str, name: str, binding: str, ip: str) -> str:
    """`navigator.credentials.create()` options (JSON) for a new account with only a passkey."""
    errors: dict[str, str] = {}
    name = clean_name(name, errors)
    email = clean_email(email, errors)
    raise_if(errors)
    await auth.limit(f"signup:ip:{ip}", auth.limits.sign_up)
    # A fresh handle every time: reusing an account's handle here would tell that the address exists.
    handle = bytes_to_base64url(generate_user_handle())
    options = creation_options(
        relying_party(auth.base_url), handle=handle, email=email, name=name, exclude=[]
    )
    challenge = bytes_to_base64url(options.challenge)
    await remember(auth, binding, Pending("sign_up", challenge, user_handle=handle, email=email, name=name))
    return str(webauthn.options_to_json(options))


async def finish_sign_up(auth: Auth, *, binding: str, response: str, ip: str) -> str:
    """Check the new passkey, then (after the answer) attach it and mail a link; returns the email."""
    pending = await take(auth, binding, "sign_up")
    if pending is None:
        raise ValidationFailed(NOT_REGISTERED)
    credential = verify_creation(auth, pending, response)
    auth.in_background(_register(auth, pending, credential, hash_token(binding), ip), "passkey sign-up")
    return pending.email


async def _register(
    auth: Auth, pending: Pending, credential: NewCredential, binding_hash: str, ip: str
) -> None:
    email, name = pending.email, pending.name
    reserved = await reserve_address(auth, email, name)
    if reserved is None:
        return
    if reserved.created:
        auth_event("sign_up", user_id=reserved.user_id, ip=ip, method="passkey")
    if reserved.email_verified:
        auth_event("sign_up.existing_email", user_id=reserved.user_id, ip=ip, method="passkey")
        await auth.send(
            Mail(
                to=email,
                subject="You already have an account",
                text="Someone (hopefully you) tried to sign up with a passkey at this address, which already "
                f"has an account. Nothing was changed.\n\nSign in: {auth.base_url}/auth/sign-in\n",
            )
        )
        return
    passkey_id = await store_credential(
        auth, reserved.user_id, pending.user_handle, credential, "Passkey", binding_hash=binding_hash
    )
    # No mail beside the confirmation link: the passkey stays only if that link is followed here.
    auth_event("passkey.added", user_id=reserved.user_id, passkey_id=passkey_id, method="sign_up")
    await send_verification(auth, reserved.user_id, email, name, binding_hash=binding_hash)
