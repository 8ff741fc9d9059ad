"""The signed-in user's preferences on every page: loaded per request; language, theme, local times."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, pass_context
from litestar import Request
from redis.exceptions import RedisError

from actors.preferences import Preferences, PreferencesActor
from domain.auth.types import AuthUser
from web.headers import header
from web.services import services_from_state

DEFAULTS = Preferences()
STATE_KEY = "user_preferences"
# Offered on the account page; the actor itself accepts any BCP 47 tag.
LANGUAGES = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "ja": "日本語",
    "pt-BR": "Português (Brasil)",
}


@functools.cache
def timezones() -> tuple[str, ...]:
    """Every IANA zone this machine knows (tzdata), sorted: the timezone field's choices."""
    return tuple(sorted(zoneinfo.available_timezones()))


def preferences_of(request: Request[Any, Any, Any]) -> Preferences:
    """What `load_preferences` found for this request, or the defaults (signed out, JSON, Redis away)."""
    found = request.scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, Preferences) else DEFAULTS


def _renders_html(request: Request[Any, Any, Any]) -> bool:
    return header(request.scope, b"hx-request") == "true" or "text/html" in header(request.scope, b"accept")


async def load_preferences(request: Request[Any, Any, Any]) -> None:
    """Before a handler that may render HTML for a signed-in user: read their preferences once."""
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    if not isinstance(user, AuthUser) or not _renders_html(request):
        return
    services = getattr(request.app.state, "services", None)
    if services is None:
        return
    try:
        prefs = await services_from_state(request.app.state).actor(PreferencesActor).get(str(user.id))
    except (RedisError, OSError):
        return  # the page still renders, in the defaults; Redis errors have their own answers elsewhere
    request.scope.setdefault("state", {})[STATE_KEY] = prefs


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


@pass_context
def localtime(
    context: Mapping[str, Any], value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M %Z"
) -> str:
    """A timestamp (aware or naive UTC datetime, or ISO 8601 text) in the viewer's timezone."""
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    request = context.get("request")
    prefs = preferences_of(request) if isinstance(request, Request) else DEFAULTS
    return moment.astimezone(_zone(prefs.timezone)).strftime(fmt)


@pass_context
def user_preferences(context: Mapping[str, Any]) -> Preferences:
    """The viewer's preferences in a template: `user_preferences().theme`."""
    request = context.get("request")
    return preferences_of(request) if isinstance(request, Request) else DEFAULTS


def register_template_helpers(environment: Environment) -> None:
    """The `localtime` filter and `user_preferences()`, `preference_languages`, `preference_timezones()`."""
    environment.filters["localtime"] = localtime
    environment.globals["user_preferences"] = user_preferences
    environment.globals["preference_languages"] = LANGUAGES
    environment.globals["preference_timezones"] = timezones
