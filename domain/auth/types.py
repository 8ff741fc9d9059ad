"""Plain value types describing the signed-in user, shared by domain and web."""

from __future__ import annotations

import msgspec


class AuthUser(msgspec.Struct, frozen=True):
    """The signed-in user as the rest of the app sees it (no secrets)."""

    id: int
    email: str
    name: str
    avatar: str | None = None
    email_verified: bool = False
    is_admin: bool = False


class AuthSession(msgspec.Struct, frozen=True):
    """The session a request is authenticated by (the token's hash is its identity)."""

    id: int
    user_id: int
    expires_at: float
    csrf_secret: str = ""
