"""PreferencesActor: per-user state with a multi-field atomic update."""

from __future__ import annotations

import asyncio

import pytest

from actors.connection import RedisClient
from actors.preferences import Preferences, PreferencesActor
from actors.scripts import InvalidActorArgument


async def test_preferences_get_new_user_has_defaults(redis: RedisClient, uid: str) -> None:
    assert await PreferencesActor(redis).get(uid) == Preferences()


async def test_preferences_update_changes_only_given_fields(redis: RedisClient, uid: str) -> None:
    prefs = PreferencesActor(redis)
    await prefs.update(uid, theme="dark")
    updated = await prefs.update(uid, language="pt-BR", timezone="America/Sao_Paulo")
    assert (updated.theme, updated.language, updated.timezone, updated.version) == (
        "dark",
        "pt-BR",
        "America/Sao_Paulo",
        2,
    )
    assert await prefs.get(uid) == updated


async def test_preferences_locale_pairs_never_mix_under_concurrency(redis: RedisClient, uid: str) -> None:
    prefs = PreferencesActor(redis)
    pairs = {("fr", "Europe/Paris"), ("ja", "Asia/Tokyo"), ("en", "UTC")}
    seen: list[Preferences] = []

    async def writer(language: str, timezone: str) -> None:
        for _ in range(100):
            seen.append(await prefs.update(uid, language=language, timezone=timezone))

    async def reader() -> None:
        for _ in range(200):
            seen.append(await prefs.get(uid))

    await asyncio.gather(*(writer(lang, tz) for lang, tz in pairs), reader(), reader())
    assert {(p.language, p.timezone) for p in seen} <= pairs
    assert (await prefs.get(uid)).version == 300


@pytest.mark.parametrize(
    "change",
    [{"theme": "blue"}, {"language": "x"}, {"language": "en_US!"}, {"timezone": "Europe/Paris;"}, {}],
)
async def test_preferences_update_rejects_bad_values_without_writing(
    redis: RedisClient, uid: str, change: dict[str, str]
) -> None:
    prefs = PreferencesActor(redis)
    with pytest.raises(InvalidActorArgument):
        await prefs.update(uid, **change)  # type: ignore[arg-type]
    assert await redis.exists(f"actor:preferences:{{{uid}}}") == 0
