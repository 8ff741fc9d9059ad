"""piccolo-admin's own identity tables, mirrored from ours: no one ever signs in to them directly.

piccolo-admin authenticates against piccolo_api's `BaseUser` and `SessionsBase`. Their default
tables are `piccolo_user` and `sessions`, and `sessions` is already our auth table, so the mirror
uses subclasses with their own names, created by our migrations.
"""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import ForeignKey, OnDelete, Serial
from piccolo_api.session_auth.tables import SessionsBase

from domain.auth.tables import User


class AdminMirror(BaseUser, tablename="admin_users"):
    """The piccolo-admin user standing in for one of our admins; its password can never match."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True, index=True)


class AdminSession(SessionsBase, tablename="admin_sessions"):
    """A piccolo-admin session, only ever handed to piccolo-admin by the bridge, never to a browser."""

    id: Serial  # added by Piccolo; declared for type checkers
