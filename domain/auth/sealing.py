"""Keys from AUTH_SECRET for sign-in methods: AES-GCM sealing of TOTP secrets, peppered code hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
# Bumped if the sealing scheme changes, so an old value is recognised rather than misread.
SEALED_PREFIX = "v1:"


def methods_key(auth_secret: str) -> bytes:
    """The root key of sign-in method secrets (HKDF-SHA256 of AUTH_SECRET, its own `info`)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"auth-methods").derive(
        auth_secret.encode()
    )


def _subkey(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, purpose.encode(), hashlib.sha256).digest()


def seal(key: bytes, plaintext: str, *, context: str) -> str:
    """`plaintext` encrypted with AES-256-GCM; `context` (say, the user id) must match to open it."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_subkey(key, "seal")).encrypt(nonce, plaintext.encode(), context.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, value: str, *, context: str) -> str | None:
    """The plaintext of a `seal` result, or None if it was altered, moved or sealed with another key."""
    if not value.startswith(SEALED_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(value.removeprefix(SEALED_PREFIX))
        opened = AESGCM(_subkey(key, "seal")).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError):
        return None
    return opened.decode()


def peppered_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 under a key the database never holds: a stolen table cannot be checked offline."""
    return hmac.new(_subkey(key, "backup-code"), value.encode(), hashlib.sha256).hexdigest()
