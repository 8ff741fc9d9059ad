"""The signed-in user's display preferences (PreferencesActor): the account page's form, live in every tab."""

from __future__ import annotations

from typing import Annotated

import msgspec

from actors.preferences import Preferences, PreferencesActor, Theme
from domain.auth.types import AuthUser
from domain.errors import ValidationFailed
from web.live_views import live
from web.preferences import LANGUAGES, timezones
from web.remote import Context, form

SIGN_IN = "Please sign in to change your preferences"


def own_preferences(user: AuthUser) -> str:
    """A user's preferences actor id: theirs only, whichever tab asks."""
    return str(user.id)


async def followed_preferences(ctx: Context) -> str:
    """The live view's key: the signed-in caller's own preferences (401 when signed out)."""
    return own_preferences(ctx.require_user("Please sign in to follow your own changes"))


# Every open tab of the user follows their preferences (theme, language) without a reload.
live(
    "preferences",
    partial="partials/preferences_state.html",
    context_name="preferences",
    path="/account/preferences/events",
    key=followed_preferences,
)


class PreferencesForm(msgspec.Struct, frozen=True):
    """The account page's preferences form."""

    theme: Theme
    language: Annotated[str, msgspec.Meta(max_length=35)]
    timezone: Annotated[str, msgspec.Meta(max_length=64)]


@form(
    signed_in=SIGN_IN,
    partial="partials/account_preferences.html",
    result_as="preferences",
    redirect="/account",
    flash="Preferences saved.",
    updates=["preferences_state"],
)
async def update_preferences(ctx: Context, choice: PreferencesForm) -> Preferences:
    """Set theme (light, dark or system), language and timezone together; every open tab follows."""
    user = ctx.require_user(SIGN_IN)
    errors = {}
    if choice.language not in LANGUAGES:
        errors["language"] = f"Choose one of: {', '.join(LANGUAGES)}"
    if choice.timezone not in timezones():
        errors["timezone"] = "Choose an IANA timezone like Europe/Paris"
    if errors:
        raise ValidationFailed("Please check your preferences", field_errors=errors)
    return await ctx.services.actor(PreferencesActor).update(
        own_preferences(user),
        theme=choice.theme,
        language=choice.language,
        timezone=choice.timezone,
        request_id=ctx.idempotency_key,
    )
