"""Two-factor sign-in with TOTP (RFC 6238, via pyotp): enrol, confirm, verify codes, backup codes, disable.

The secret is stored AES-GCM sealed under a key from AUTH_SECRET (domain/auth/sealing.py), so a
copy of the database alone yields no codes. A code is accepted for the current 30-second step or
one either side; the accepted step is recorded and that step and every earlier one are refused
afterwards, so an observed code cannot be replayed. Backup codes are random (about 50 bits each)
and stored as HMAC-SHA256 under a pepper from AUTH_SECRET: an argon2 hash would add nothing against
guessing a value that random, and a keyed hash lets one indexed lookup find and delete the code.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError

from domain.auth.account import check_password
from domain.auth.core import Auth, write_transaction
from domain.auth.events import auth_event
from domain.auth.notices import method_changed
from domain.auth.sealing import peppered_hash, seal, unseal
from domain.auth.tables import BackupCode, TwoFactor
from domain.auth.types import AuthUser
from domain.errors import Conflict, ValidationFailed

BACKUP_CODES = 10
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
BACKUP_LENGTH = 10
VALID_WINDOW = 1
WRONG_CODE = "That code is not right. Check your authenticator app and try again."
REUSED_CODE = "That code was already used. Wait for the next one."
NOT_ENROLLED = "Two-factor sign-in is not set up for this account."


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the user needs to add the account to an authenticator app (shown until confirmed)."""

    manual_key: str
    uri: str
    qr_svg: str


def _issuer(auth: Auth) -> str:
    return urlsplit(auth.base_url).hostname or "localhost"


def _context(user_id: int) -> str:
    # Binds a sealed secret to its row's owner: copied to another user's row it does not open.
    return f"totp:{user_id}"


async def start_enrolment(auth: Auth, user: AuthUser) -> Enrolment:
    """A new secret for `user` (replacing an unconfirmed one); two-factor is on only after `confirm`."""
    if await two_factor_enabled(user.id):
        raise Conflict("Two-factor sign-in is already on. Turn it off first to set up a new app.")
    secret = pyotp.random_base32()
    now = auth.clock()
    async with write_transaction():
        await TwoFactor.delete().where(TwoFactor.user == user.id)
        await TwoFactor.insert(
            TwoFactor(
                user=user.id, secret=seal(auth.methods_key, secret, context=_context(user.id)), created_at=now
            )
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=_issuer(auth))
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="Two-factor QR code")
    manual_key = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    auth_event("two_factor.enrolment_started", user_id=user.id)
    return Enrolment(manual_key=manual_key, uri=uri, qr_svg=qr_svg)


async def confirm_enrolment(auth: Auth, user: AuthUser, code: str) -> list[str]:
    """Turn two-factor on with a first code from the app; returns the backup codes (shown only now)."""
    row = await TwoFactor.select().where(TwoFactor.user == user.id).first()
    if row is None:
        raise ValidationFailed(NOT_ENROLLED, field_errors={"code": NOT_ENROLLED})
    if row["confirmed"]:
        raise Conflict("Two-factor sign-in is already on.")
    step = await _matching_step(auth, user.id, row["secret"], code)
    codes = [_new_backup_code() for _ in range(BACKUP_CODES)]
    now = auth.clock()
    async with write_transaction():
        confirmed = await (
            TwoFactor.update(
                {TwoFactor.confirmed: True, TwoFactor.last_step: step, TwoFactor.confirmed_at: now}
            )
            .where((TwoFactor.id == row["id"]) & (TwoFactor.confirmed == False))  # noqa: E712
            .returning(TwoFactor.id)
        )
        if not confirmed:
            raise Conflict("Two-factor sign-in is already on.")
        await _replace_backup_codes(auth, user.id, codes)
    await method_changed(
        auth.outbox,
        auth.base_url,
        user.id,
        "two_factor.enabled",
        "Two-factor sign-in with an authenticator app was turned on for your account.",
    )
    return [_display(code) for code in codes]


async def verify_code(auth: Auth, user_id: int, code: str) -> None:
    """Accept a current TOTP code once (rate limited per account); ValidationFailed otherwise."""
    row = await _confirmed(user_id)
    step = await _matching_step(auth, user_id, row["secret"], code)
    used = await (
        TwoFactor.update({TwoFactor.last_step: step})
        .where((TwoFactor.id == row["id"]) & (TwoFactor.last_step < step))
        .returning(TwoFactor.id)
    )
    if not used:
        auth_event("two_factor.code_reused", level=logging.WARNING, user_id=user_id, step=step)
        raise ValidationFailed(REUSED_CODE, field_errors={"code": REUSED_CODE})
    auth_event("two_factor.code_used", user_id=user_id)


async def use_backup_code(auth: Auth, user_id: int, code: str) -> int:
    """Use up one backup code (rate limited per account); returns how many are left."""
    await _confirmed(user_id)
    await auth.limit(f"second_factor:user:{user_id}", auth.limits.second_factor)
    cleaned = _clean_backup(code)
    used = (
        await BackupCode.delete()
        .where(
            (BackupCode.user == user_id) & (BackupCode.code_hash == peppered_hash(auth.methods_key, cleaned))
        )
        .returning(BackupCode.id)
        if cleaned
        else []
    )
    if not used:
        auth_event("two_factor.backup_code_failure", level=logging.WARNING, user_id=user_id)
        raise ValidationFailed(WRONG_CODE, field_errors={"code": WRONG_CODE})
    left = await BackupCode.count().where(BackupCode.user == user_id)
    auth_event("two_factor.backup_code_used", user_id=user_id, left=left)
    return int(left)


async def verify_second_factor(auth: Auth, user_id: int, code: str) -> str:
    """A sign-in's second step: a 6-digit code goes to TOTP, anything else to the backup codes."""
    if _clean_digits(code):
        await verify_code(auth, user_id, code)
        return "totp"
    await use_backup_code(auth, user_id, code)
    return "backup_code"


async def regenerate_backup_codes(auth: Auth, user: AuthUser, code: str) -> list[str]:
    """New backup codes (the old ones stop working) after a current TOTP code."""
    await verify_code(auth, user.id, code)
    codes = [_new_backup_code() for _ in range(BACKUP_CODES)]
    async with write_transaction():
        await _replace_backup_codes(auth, user.id, codes)
    await method_changed(
        auth.outbox,
        auth.base_url,
        user.id,
        "two_factor.backup_codes_replaced",
        "New backup codes were made for your account; the old ones no longer work.",
    )
    return [_display(c) for c in codes]


async def disable(auth: Auth, user: AuthUser, *, password: str, code: str) -> None:
    """Turn two-factor off: needs the account's password (if it has one) and a code or backup code."""
    await check_password(auth, user, password, field="password")
    await verify_second_factor(auth, user.id, code)
    await remove_two_factor(user.id)
    await method_changed(
        auth.outbox,
        auth.base_url,
        user.id,
        "two_factor.disabled",
        "Two-factor sign-in was turned off for your account.",
    )


async def remove_two_factor(user_id: int) -> bool:
    """Delete the secret and backup codes; True when two-factor had been on."""
    async with write_transaction():
        removed = await TwoFactor.delete().where(TwoFactor.user == user_id).returning(TwoFactor.confirmed)
        await BackupCode.delete().where(BackupCode.user == user_id)
    return any(row["confirmed"] for row in removed)


async def two_factor_enabled(user_id: int) -> bool:
    return bool(
        await TwoFactor.exists().where((TwoFactor.user == user_id) & (TwoFactor.confirmed == True))  # noqa: E712
    )


async def backup_codes_left(user_id: int) -> int:
    return int(await BackupCode.count().where(BackupCode.user == user_id))


async def _confirmed(user_id: int) -> dict[str, object]:
    row = (
        await TwoFactor.select()
        .where((TwoFactor.user == user_id) & (TwoFactor.confirmed == True))  # noqa: E712
        .first()
    )
    if row is None:
        raise ValidationFailed(NOT_ENROLLED, field_errors={"code": NOT_ENROLLED})
    result: dict[str, object] = row
    return result


async def _matching_step(auth: Auth, user_id: int, sealed: object, code: str) -> int:
    """The time-step `code` is valid for (±1 around now), after spending one attempt of the account."""
    await auth.limit(f"second_factor:user:{user_id}", auth.limits.second_factor)
    digits = _clean_digits(code)
    secret = unseal(auth.methods_key, str(sealed), context=_context(user_id))
    if secret is None:
        # A secret sealed under another AUTH_SECRET: no code can match until the user enrols again.
        auth_event("two_factor.secret_unreadable", level=logging.ERROR, user_id=user_id)
    if not digits or secret is None:
        auth_event("two_factor.code_failure", level=logging.WARNING, user_id=user_id)
        raise ValidationFailed(WRONG_CODE, field_errors={"code": WRONG_CODE})
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            digits, for_time=auth.clock(), valid_window=VALID_WINDOW
        )
    except OTPVerificationError:
        auth_event("two_factor.code_failure", level=logging.WARNING, user_id=user_id)
        raise ValidationFailed(WRONG_CODE, field_errors={"code": WRONG_CODE}) from None


def _clean_digits(code: str) -> str:
    digits = code.replace(" ", "").strip()
    return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else ""


def _clean_backup(code: str) -> str:
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    ok = len(cleaned) == BACKUP_LENGTH and all(c in BACKUP_ALPHABET for c in cleaned)
    return cleaned if ok else ""


def _new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LENGTH))


def _display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


async def _replace_backup_codes(auth: Auth, user_id: int, codes: list[str]) -> None:
    now = auth.clock()
    await BackupCode.delete().where(BackupCode.user == user_id)
    await BackupCode.insert(
        *(
            BackupCode(user=user_id, code_hash=peppered_hash(auth.methods_key, c), created_at=now)
            for c in codes
        )
    )
