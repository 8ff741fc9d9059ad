"""Random secrets for cookies and emailed links; only their sha256 is ever stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token (to hand out) and its hash (to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The hex sha256 of `token`: what the database and the cache key hold."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
