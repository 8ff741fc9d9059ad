"""OutboxActor: one durable outgoing message per id, delivered by its alarm with retries, sent once."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import msgspec

from actors.alarm_store import alarm_key
from actors.connection import RedisClient
from actors.keys import actor_key
from actors.runtime import Actor, Operation, Payload, current_firing

# Delivers one message (its id, its body as stored) or raises; the outbox retries on an exception.
Sender = Callable[[str, str], Awaitable[None]]
# An unsent message is kept this long (its links expire sooner); a sent or discarded one's id and
# status a day.
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
    """A message's status ("pending", "sent", "discarded" or "none" when unknown or expired) and its
    body while pending."""

    id: str
    status: str
    body: str = ""
    sent_at: str = ""
    sent_by: str = ""


_decode = msgspec.json.Decoder(OutboxMessage).decode
# A message's state hash, `actor:outbox:{<id>}` (its alarm and request keys carry a suffix).
_MESSAGE_KEY = re.compile(r"actor:outbox:\{([A-Za-z0-9_.:-]{1,64})\}")
REPAIR_BATCH = 500


class OutboxActor(Actor):
    """`put` stores a message and sets an alarm for now; the alarm sends it and marks it sent atomically."""

    kind = "outbox"
    # A pending mail's body holds its sign-in, reset and confirmation links: not for admins' eyes.
    hidden_fields = frozenset({"body"})
    _put = Operation("outbox_put.lua")
    _get = Operation("outbox_get.lua", mutating=False)
    _sent = Operation("outbox_sent.lua")
    _discard = Operation("outbox_discard.lua")

    async def put(self, message_id: str, body: str) -> None:
        """Store `body` under `message_id` (a repeat keeps the first) and make it due now.

        The message is written before its alarm: a process dying between the two leaves it stored
        but unscheduled until `schedule_unsent` (the sweeper) finds it, never an alarm without a body.
        """
        await self.call(self._put, message_id, (body, PENDING_TTL_MS), request_id=message_id)
        await self.set_alarm(message_id, at=time.time())

    async def get(self, message_id: str) -> OutboxMessage:
        return _decode(await self.call(self._get, message_id))

    async def schedule_unsent(self) -> int:
        """Set the alarm of every pending message that never had one; returns how many.

        An alarm record without `gen` was never set: the `put` died before `set_alarm`. A message
        whose alarm ran is sent, a discarded one marked so, and a dead-lettered one keeps its `gen`
        (no expiry): all are left alone. A `put` still between its two writes may be scheduled
        twice; the second firing finds it sent.
        """
        ids: list[str] = []
        scheduled = 0
        async for key in self.redis.scan_iter(match="actor:outbox:{*}", count=1000, _type="hash"):
            match = _MESSAGE_KEY.fullmatch(key.decode() if isinstance(key, bytes) else key)
            if match:
                ids.append(match[1])
            if len(ids) >= REPAIR_BATCH:
                scheduled += await self._schedule_unsent(ids)
                ids = []
        return scheduled + (await self._schedule_unsent(ids) if ids else 0)

    async def _schedule_unsent(self, ids: list[str]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for message_id in ids:
            pipe.hget(actor_key(self.kind, message_id), "status")
            pipe.hexists(alarm_key(self.kind, message_id), "gen")
        replies: list[object] = await pipe.execute()
        unsent = [
            message_id
            for message_id, status, has_alarm in zip(ids, replies[::2], replies[1::2], strict=True)
            if status == b"pending" and not has_alarm
        ]
        for message_id in unsent:
            await self.set_alarm(message_id, at=time.time())
        return len(unsent)

    async def cancel_alarm(self, actor_id: str) -> bool:
        """Discard the mail: mark it "discarded" (body dropped), then remove its alarm.

        The mark comes first and is what keeps the sweeper from scheduling it again once the spent
        alarm record expires; a process dying between the two leaves an alarm that finds it not
        pending and does nothing.
        """
        await self.call(self._discard, actor_id, (SENT_TTL_MS,))
        return await super().cancel_alarm(actor_id)

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
