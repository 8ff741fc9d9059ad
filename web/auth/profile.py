"""The original's remote function `get_user_profile` (its partner `update_user_profile` is in account.py)."""

from __future__ import annotations

from domain.auth import account
from domain.auth.types import AuthUser
from web.remote import Context, query

SIGN_IN = "Please sign in to see your profile"


@query(signed_in=SIGN_IN, partial="partials/account_profile_card.html", result_as="profile")
async def get_user_profile(ctx: Context) -> AuthUser:
    """The signed-in user's profile: id, email, name, avatar, email_verified, is_admin."""
    user = ctx.require_user(SIGN_IN)
    return await account.get_profile(ctx.services.require_auth(), user.id)
