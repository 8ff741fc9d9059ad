"""PreferencesActor: per-user state (the original's "UserDO" pattern) with a multi-field atomic update."""

from __future__ import annotations

from typing import Literal

import msgspec

from actors.events import ActorEvent
from actors.runtime import Actor, Operation

Theme = Literal["light", "dark", "system"]


class Preferences(msgspec.Struct, frozen=True):
    """A user's display preferences; defaults until the first update (version 0)."""

    theme: Theme = "system"
    language: str = "en"
    timezone: str = "UTC"
    updated_at: str = ""
    version: int = 0


_decode = msgspec.json.Decoder(Preferences).decode


class PreferencesActor(Actor):
    """One actor per user id; `update` changes any of its fields together in one script."""

    kind = "preferences"
    _get = Operation("preferences_get.lua", mutating=False)
    _update = Operation("preferences_update.lua")

    async def get(self, user_id: str) -> Preferences:
        return _decode(await self.call(self._get, user_id))

    async def update(
        self,
        user_id: str,
        *,
        theme: Theme | None = None,
        language: str | None = None,
        timezone: str | None = None,
        request_id: str | None = None,
    ) -> Preferences:
        """Set the given fields atomically (e.g. language and timezone as one locale change)."""
        args = (theme or "", language or "", timezone or "")
        return _decode(await self.call(self._update, user_id, args, request_id=request_id))

    @staticmethod
    def state_from_event(event: ActorEvent) -> Preferences:
        return msgspec.convert({**event.state, "version": event.version}, Preferences)
