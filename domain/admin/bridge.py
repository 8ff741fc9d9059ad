"""One identity for the admin panel: our signed-in admins get piccolo-admin sessions behind the scenes.

piccolo-admin only trusts its own session cookie, checked against its own user table. The web
layer asks `admin_session_token` for every admin request; it re-reads `users.is_admin` from the
database (never the session cache), keeps a mirror user with an unusable password, and returns a
piccolo-admin session token derived from the app session's token, which the web layer injects into
the request. Browsers never see that token, so no one can sign in to piccolo-admin directly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.admin.tables import AdminMirror, AdminSession
from domain.auth.core import UNIQUE_VIOLATIONS
from domain.auth.tables import User

# piccolo_api's session table stores naive local times; a short life, renewed while in use.
ADMIN_SESSION_TTL = timedelta(hours=1)
RENEW_WHEN_LEFT = timedelta(minutes=10)
MAX_USERNAME = 100


@dataclass(frozen=True, slots=True)
class Admin:
    """A user who is an admin right now."""

    user_id: int
    email: str
    name: str


def unusable_password() -> str:
    """A value in piccolo's hash format that no password hashes to (its digest is not hex)."""
    return f"pbkdf2_sha256$1${secrets.token_hex(16)}$!"


def mirror_username(user_id: int, email: str) -> str:
    # The id prefix keeps usernames unique even when a long email is cut short.
    return f"#{user_id} {email}"[:MAX_USERNAME]


def derive_token(secret: str, session_token: str) -> str:
    """The piccolo-admin token of one app session: stable per session, useless without the secret."""
    key = hashlib.sha256(f"piccolo-admin-bridge:{secret}".encode()).digest()
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


async def current_admin(user_id: int) -> Admin | None:
    """The user if they are an admin now, read from the database so a demotion counts at once."""
    row = await User.select(User.id, User.email, User.name, User.is_admin).where(User.id == user_id).first()
    if row is None or not row["is_admin"]:
        return None
    return Admin(user_id=row["id"], email=row["email"], name=row["name"])


async def ensure_mirror(admin: Admin) -> int:
    """The id of `admin`'s piccolo-admin user, created or brought up to date."""
    username = mirror_username(admin.user_id, admin.email)
    wanted = {"username": username, "first_name": admin.name[:255], "active": True, "admin": True}
    for _ in range(2):
        row = (
            await AdminMirror.select(
                AdminMirror.id,
                AdminMirror.username,
                AdminMirror.first_name,
                AdminMirror.active,
                AdminMirror.admin,
            )
            .where(AdminMirror.user == admin.user_id)
            .first()
        )
        if row is not None:
            if any(row[k] != v for k, v in wanted.items()):
                await AdminMirror.update(
                    {
                        AdminMirror.username: username,
                        AdminMirror.first_name: admin.name[:255],
                        AdminMirror.active: True,
                        AdminMirror.admin: True,
                    }
                ).where(AdminMirror.id == row["id"])
            mirror_id: int = row["id"]
            return mirror_id
        try:
            rows = await AdminMirror.insert(
                AdminMirror(  # type: ignore[no-untyped-call]
                    user=admin.user_id,
                    username=username,
                    password=unusable_password(),
                    email=f"user-{admin.user_id}@admin-mirror.invalid",
                    first_name=admin.name[:255],
                    last_name="",
                    active=True,
                    admin=True,
                    # Every admin of ours is equal; superuser only matters for piccolo's own user tables.
                    superuser=True,
                )
            ).returning(AdminMirror.id)
        except UNIQUE_VIOLATIONS:
            continue  # a concurrent request created it: read it back
        created: int = rows[0]["id"]
        return created
    raise RuntimeError(f"could not create the admin mirror of user {admin.user_id}")


async def admin_session_token(admin: Admin, session_token: str, secret: str) -> str:
    """A live piccolo-admin session token for this app session (created or renewed as needed)."""
    mirror_id = await ensure_mirror(admin)
    token = derive_token(secret, session_token)
    now = datetime.now()
    row = (
        await AdminSession.select(AdminSession.user_id, AdminSession.max_expiry_date)
        .where(AdminSession.token == token)
        .first()
    )
    if row is not None and row["user_id"] == mirror_id and row["max_expiry_date"] - now > RENEW_WHEN_LEFT:
        return token
    expires = now + ADMIN_SESSION_TTL
    await AdminSession.delete().where((AdminSession.token == token) | (AdminSession.max_expiry_date <= now))
    await AdminSession.insert(
        AdminSession(token=token, user_id=mirror_id, expiry_date=expires, max_expiry_date=expires)
    )
    return token


async def close_admin_access(user_id: int) -> None:
    """Remove a (former) admin's piccolo-admin user and sessions."""
    mirrors = await AdminMirror.select(AdminMirror.id).where(AdminMirror.user == user_id)
    ids = [row["id"] for row in mirrors]
    if ids:
        await AdminSession.delete().where(AdminSession.user_id.is_in(ids))
        await AdminMirror.delete().where(AdminMirror.id.is_in(ids))


async def end_admin_session(secret: str, session_token: str) -> None:
    """Forget the piccolo-admin session of one app session (sign-out from the panel)."""
    await AdminSession.delete().where(AdminSession.token == derive_token(secret, session_token))
