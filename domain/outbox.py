"""The mail outbox: a mail is stored in Redis at once and delivered by an alarm, retried until it goes."""

from __future__ import annotations

import dataclasses
import secrets
import time

import msgspec
from redis.exceptions import RedisError

from actors.connection import RedisClient
from actors.outbox import OutboxActor, bind_sender, unbind_sender
from domain.errors import Unavailable
from domain.mail import Mail, Mailer

_decode = msgspec.json.Decoder(Mail).decode


class Outbox:
    """Hands mail to the outbox actor; this process's alarm scheduler delivers it through `mailer`."""

    def __init__(self, redis: RedisClient, mailer: Mailer) -> None:
        self.redis = redis
        self.mailer = mailer
        self.actor = OutboxActor(redis)
        bind_sender(redis, self._deliver)

    async def send(self, mail: Mail) -> str:
        """Store `mail` for delivery and return its outbox id (also its Message-ID); never waits on SMTP."""
        self.mailer.check()
        message_id = secrets.token_hex(16)
        try:
            body = msgspec.json.encode(dataclasses.replace(mail, written_at=time.time()))
            await self.actor.put(message_id, body.decode())
        except (RedisError, OSError) as exc:
            raise Unavailable("Email cannot be queued right now. Please try again shortly.") from exc
        return message_id

    async def _deliver(self, message_id: str, body: str) -> None:
        await self.mailer.send(_decode(body), message_id)

    def close(self) -> None:
        """Stop delivering from this process (alarms left due are sent by another, or after a restart)."""
        unbind_sender(self.redis)
