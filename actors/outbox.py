"""OutboxActor: one durable outgoing message per id, delivered by its alarm with retries, sent once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import msgspec

from actors.connection import RedisClient
from actors.runtime import Actor, Operation, Payload, current_firing

# Delivers one message (its id, its body as stored) or raises; the outbox retries on an exception.
Sender = Callable[[str, str], Awaitable[None]]
# An unsent message is kept this long (its links expire sooner); a sent one's id and status a day.
PENDING_TTL_MS = 7 * 86_400_000
SENT_TTL_MS = 86_400_000

# Each app binds the sender of its own settings to its Redis client, kept on the client itself (as
# runner_for keeps its runner): a WeakKeyDictionary would never drop it, the sender refers to the client.
_SENDER_ATTRIBUTE = "_outbox_sender"


def bind_sender(redis: RedisClient, sender: Sender) -> None:
    """Deliver the outbox messages that alarms on `redis` fire in this process with `sender`."""
    setattr(redis, _SENDER_ATTRIBUTE, sender)


def unbind_sender(redis: RedisClient) -> None:
    if hasattr(redis, _SENDER_ATTRIBUTE):
        delattr(redis, _SENDER_ATTRIBUTE)


class OutboxMessage(msgspec.Struct, frozen=True):
    """A message's status ("pending", "sent" or "none" when unknown or expired) and its body while pending."""

    id: str
    status: str
    body: str = ""
    sent_at: str = ""
    sent_by: str = ""


_decode = msgspec.json.Decoder(OutboxMessage).decode


class OutboxActor(Actor):
    """`put` stores a message and sets an alarm for now; the alarm sends it and marks it sent atomically."""

    kind = "outbox"
    # A pending mail's body holds its sign-in, reset and confirmation links: not for admins' eyes.
    hidden_fields = frozenset({"body"})
    _put = Operation("outbox_put.lua")
    _get = Operation("outbox_get.lua", mutating=False)
    _sent = Operation("outbox_sent.lua")

    async def put(self, message_id: str, body: str) -> None:
        """Store `body` under `message_id` (a repeat keeps the first) and make it due now.

        The message is written before its alarm: a process dying between the two leaves it stored
        but unscheduled (a later `put` with the same id schedules it), never an alarm without a body.
        """
        await self.call(self._put, message_id, (body, PENDING_TTL_MS), request_id=message_id)
        await self.set_alarm(message_id, at=time.time())

    async def get(self, message_id: str) -> OutboxMessage:
        return _decode(await self.call(self._get, message_id))

    async def alarm(self, actor_id: str, payload: Payload) -> None:
        message = await self.get(actor_id)
        if message.status != "pending":
            return  # sent by an earlier try, or expired
        sender: Sender | None = getattr(self.redis, _SENDER_ATTRIBUTE, None)
        if sender is None:
            raise LookupError("no mail sender is bound in this process")
        await sender(actor_id, message.body)
        # A crash between the send and this mark re-sends after the alarm's lease, with the same
        # Message-ID (the outbox id), so a duplicate is recognisable; the firing's request id makes
        # the mark itself apply once.
        firing = current_firing()
        await self.call(self._sent, actor_id, (SENT_TTL_MS, firing.request_id), request_id=firing.request_id)
