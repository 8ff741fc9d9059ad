"""The original's remote functions `get_user_profile` and `update_user_profile` (sign-in required)."""

from __future__ import annotations

from domain.auth import account
from domain.auth.core import Auth
from domain.auth.types import AuthUser
from domain.errors import Unavailable
from web.remote import Context, command, query

SIGN_IN = "Please sign in to see your profile"


def _auth(ctx: Context) -> Auth:
    auth = getattr(ctx.services, "auth", None)
    if not isinstance(auth, Auth):
        raise Unavailable("Sign-in is starting up; try again in a moment.")
    return auth


@query(signed_in=SIGN_IN, partial="partials/account_profile_card.html", result_as="profile")
async def get_user_profile(ctx: Context) -> AuthUser:
    """The signed-in user's profile: id, email, name, avatar, email_verified, is_admin."""
    user = ctx.require_user(SIGN_IN)
    return await account.get_profile(_auth(ctx), user.id)


@command(
    signed_in=SIGN_IN,
    partial="partials/account_profile_card.html",
    result_as="profile",
    redirect="/account",
    flash="Profile saved.",
    updates=["header_user", "account_profile_card"],
)
async def update_user_profile(ctx: Context, name: str, avatar: str = "") -> AuthUser:
    """Change the display name (1-100 characters) and avatar (an http(s) URL, or empty to remove it)."""
    user = ctx.require_user(SIGN_IN)
    return await account.update_profile(_auth(ctx), user.id, name=name, avatar=avatar)
