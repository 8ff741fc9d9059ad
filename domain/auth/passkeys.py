"""Passkeys (WebAuthn, py_webauthn): register, sign in with a discoverable credential, rename, delete.

The relying party is BASE_URL: its host is the RP id and its scheme://host[:port] the only origin
accepted. Each ceremony's challenge lives in Redis for five minutes, bound to the browser that
started it and used up by the first answer (domain/auth/challenges.py). A signature count (signCount) that
does not move forward is refused (a cloned authenticator), unless it stays 0 as synced passkeys do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import bytes_to_base64url, generate_user_handle, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain.auth.challenges import Pending, remember, take
from domain.auth.core import UNIQUE_VIOLATIONS, Auth
from domain.auth.events import auth_event
from domain.auth.flows import SignedIn, start_session
from domain.auth.notices import method_changed
from domain.auth.tables import Passkey
from domain.auth.types import AuthUser
from domain.auth.validation import raise_if
from domain.errors import Conflict, NotFound, ValidationFailed

# A browser's answer is a few kilobytes; anything far larger is not one.
MAX_RESPONSE = 64 * 1024
MAX_NAME = 100
NOT_ACCEPTED = "That passkey could not be used. Try again, or sign in another way."
NOT_REGISTERED = "The passkey could not be added. Try again."


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party(base_url: str) -> RelyingParty:
    """The RP id (BASE_URL's host) and the one origin browsers must report (scheme://host[:port])."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "localhost").lower()
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return RelyingParty(id=host, origin=origin, name=host)


@dataclass(frozen=True, slots=True)
class PasskeyView:
    """A passkey as its owner sees it: no key material."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


async def list_passkeys(user_id: int) -> list[PasskeyView]:
    rows = await (
        Passkey.select(Passkey.id, Passkey.name, Passkey.created_at, Passkey.last_used_at)
        .where(Passkey.user == user_id)
        .order_by(Passkey.id)
    )
    return [PasskeyView(**row) for row in rows]


async def user_handle_of(user_id: int) -> str:
    """The user's WebAuthn handle (shared by all their passkeys), or a new random one."""
    row = await Passkey.select(Passkey.user_handle).where(Passkey.user == user_id).first()
    return str(row["user_handle"]) if row else bytes_to_base64url(generate_user_handle())


def creation_options(rp: RelyingParty, *, handle: str, email: str, name: str, exclude: list[str]) -> Any:
    return webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=webauthn.base64url_to_bytes(handle),
        user_name=email,
        user_display_name=name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(c)) for c in exclude
        ],
    )


async def registration_options(auth: Auth, user: AuthUser, *, binding: str) -> str:
    """`navigator.credentials.create()` options (JSON) for adding a passkey to a signed-in account."""
    existing = await Passkey.select(Passkey.credential_id).where(Passkey.user == user.id)
    handle = await user_handle_of(user.id)
    options = creation_options(
        relying_party(auth.base_url),
        handle=handle,
        email=user.email,
        name=user.name,
        exclude=[row["credential_id"] for row in existing],
    )
    challenge = bytes_to_base64url(options.challenge)
    await remember(auth, binding, Pending("register", challenge, user_id=user.id, user_handle=handle))
    return str(webauthn.options_to_json(options))


@dataclass(frozen=True, slots=True)
class NewCredential:
    credential_id: str
    public_key: str
    sign_count: int
    transports: str


def verify_creation(auth: Auth, pending: Pending, response: str) -> NewCredential:
    """The credential a `create()` answer registers, checked against the pending challenge and RP."""
    rp = relying_party(auth.base_url)
    if len(response) > MAX_RESPONSE:
        raise ValidationFailed(NOT_REGISTERED)
    try:
        verified = webauthn.verify_registration_response(
            credential=response,
            expected_challenge=webauthn.base64url_to_bytes(pending.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
        parsed = webauthn.helpers.parse_registration_credential_json(response)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        auth_event("passkey.register_failure", level=logging.WARNING, user_id=pending.user_id, reason=exc)
        raise ValidationFailed(NOT_REGISTERED) from None
    transports = ",".join(t.value for t in parsed.response.transports or [])[:200]
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=transports,
    )


def clean_passkey_name(name: str, errors: dict[str, str]) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        return "Passkey"
    if len(cleaned) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    return cleaned


async def store_credential(
    auth: Auth, user_id: int, handle: str, credential: NewCredential, name: str, *, binding_hash: str = ""
) -> int:
    try:
        rows = await Passkey.insert(
            Passkey(
                user=user_id,
                credential_id=credential.credential_id,
                public_key=credential.public_key,
                sign_count=credential.sign_count,
                user_handle=handle,
                transports=credential.transports,
                name=name,
                binding_hash=binding_hash,
                created_at=auth.clock(),
            )
        ).returning(Passkey.id)
    except UNIQUE_VIOLATIONS:
        raise Conflict("That passkey is already registered.") from None
    return int(rows[0]["id"])


async def finish_registration(
    auth: Auth, user: AuthUser, *, binding: str, response: str, name: str = ""
) -> PasskeyView:
    """Add the passkey a browser created for `user` from `registration_options` (once per challenge)."""
    errors: dict[str, str] = {}
    name = clean_passkey_name(name, errors)
    raise_if(errors)
    pending = await take(auth, binding, "register")
    if pending is None or pending.user_id != user.id:
        raise ValidationFailed(NOT_REGISTERED)
    credential = verify_creation(auth, pending, response)
    passkey_id = await store_credential(auth, user.id, pending.user_handle, credential, name)
    await method_changed(
        auth.outbox,
        auth.base_url,
        user.id,
        "passkey.added",
        f'A passkey named "{name}" was added to your account.',
    )
    views = [v for v in await list_passkeys(user.id) if v.id == passkey_id]
    return views[0]


async def authentication_options(auth: Auth, *, binding: str) -> str:
    """`navigator.credentials.get()` options (JSON): any discoverable passkey of this site may answer."""
    options = webauthn.generate_authentication_options(
        rp_id=relying_party(auth.base_url).id,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    await remember(auth, binding, Pending("sign_in", bytes_to_base64url(options.challenge)))
    return str(webauthn.options_to_json(options))


async def finish_authentication(
    auth: Auth, *, binding: str, response: str, ip: str, user_agent: str
) -> SignedIn:
    """Sign in with the passkey that answered `authentication_options`; a passkey also satisfies 2FA."""
    await auth.limit(f"signin:ip:{ip}", auth.limits.sign_in)
    pending = await take(auth, binding, "sign_in")
    if pending is None or len(response) > MAX_RESPONSE:
        raise ValidationFailed(NOT_ACCEPTED)
    rp = relying_party(auth.base_url)
    try:
        credential = parse_authentication_credential_json(response)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise ValidationFailed(NOT_ACCEPTED) from None
    row = (
        await Passkey.select(
            Passkey.id,
            Passkey.user,
            Passkey.public_key,
            Passkey.sign_count,
            Passkey.user_handle,
            Passkey.user.email_verified,
        )
        .where(Passkey.credential_id == bytes_to_base64url(credential.raw_id))
        .first()
    )
    # A passkey made by a sign-up whose address is not proven yet signs no one in.
    if row is None or not row["user.email_verified"]:
        auth_event("passkey.sign_in_failure", level=logging.WARNING, ip=ip, reason="unknown credential")
        raise ValidationFailed(NOT_ACCEPTED)
    handle = credential.response.user_handle
    if handle is not None and bytes_to_base64url(handle) != row["user_handle"]:
        auth_event(
            "passkey.sign_in_failure", level=logging.WARNING, user_id=row["user"], reason="user handle"
        )
        raise ValidationFailed(NOT_ACCEPTED)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(pending.challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=webauthn.base64url_to_bytes(row["public_key"]),
            credential_current_sign_count=row["sign_count"],
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        auth_event("passkey.sign_in_failure", level=logging.WARNING, user_id=row["user"], ip=ip, reason=exc)
        raise ValidationFailed(NOT_ACCEPTED) from None
    new_count = verified.new_sign_count
    # The count moves in the same statement that checks it, so two uses of one count cannot both pass.
    moved = Passkey.sign_count == 0 if new_count == 0 else Passkey.sign_count < new_count
    used = await (
        Passkey.update({Passkey.sign_count: new_count, Passkey.last_used_at: auth.clock()})
        .where((Passkey.id == row["id"]) & moved)
        .returning(Passkey.id)
    )
    if not used:
        auth_event("passkey.sign_in_failure", level=logging.WARNING, user_id=row["user"], reason="sign_count")
        raise ValidationFailed(NOT_ACCEPTED)
    auth_event("passkey.used", user_id=row["user"], passkey_id=row["id"])
    return await start_session(auth, row["user"], ip=ip, user_agent=user_agent, method="passkey")


async def rename_passkey(auth: Auth, user_id: int, passkey_id: int, name: str) -> PasskeyView:
    errors: dict[str, str] = {}
    name = clean_passkey_name(name, errors)
    raise_if(errors)
    renamed = await (
        Passkey.update({Passkey.name: name})
        .where((Passkey.id == passkey_id) & (Passkey.user == user_id))
        .returning(Passkey.id)
    )
    if not renamed:
        raise NotFound("That passkey no longer exists.")
    auth_event("passkey.renamed", user_id=user_id, passkey_id=passkey_id)
    return next(v for v in await list_passkeys(user_id) if v.id == passkey_id)


async def delete_passkey(auth: Auth, user_id: int, passkey_id: int) -> None:
    """Remove one of the user's passkeys; the address still signs in by an emailed link or a reset."""
    removed = await (
        Passkey.delete().where((Passkey.id == passkey_id) & (Passkey.user == user_id)).returning(Passkey.name)
    )
    if not removed:
        raise NotFound("That passkey no longer exists.")
    await method_changed(
        auth.outbox,
        auth.base_url,
        user_id,
        "passkey.removed",
        f'The passkey named "{removed[0]["name"]}" was removed from your account.',
    )


async def has_passkey(user_id: int) -> bool:
    return bool(await Passkey.exists().where(Passkey.user == user_id))
