"""The "Alarms and outbox" admin page: due, running, retrying and dead alarms, with retry and discard."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Annotated

import msgspec

from actors import alarm_store
from actors.scripts import runner_for
from domain.admin.bridge import current_admin
from domain.auth.events import auth_event
from domain.errors import Forbidden, ValidationFailed
from web.remote import Context, command, query

PAGE = "pages/admin_alarms.html"
PARTIAL = "partials/admin_alarms.html"
LIMIT = 200
# `<kind>/<id>` as the list shows it; the id rule itself is checked by alarm_store.parse_member.
Member = Annotated[str, msgspec.Meta(min_length=3, max_length=200)]


class AlarmRow(msgspec.Struct, frozen=True):
    """One alarm as the page lists it; `state` is due, scheduled, running, retrying or dead."""

    member: str
    kind: str
    actor_id: str
    state: str
    next_at: datetime
    attempt: int
    error: str


class AlarmBoard(msgspec.Struct, frozen=True):
    """Every shard's counts and up to LIMIT alarms, soonest first; `notice` says what an action did."""

    due: int
    running: int
    retrying: int
    dead: int
    scheduled: int
    alarms: list[AlarmRow]
    notice: str = ""


async def _require_admin(ctx: Context, action: str) -> None:
    """A signed-in admin, read from the database (a demotion counts at once), like the inspector guard."""
    user = ctx.require_user("Please sign in to use the admin tools.")
    if await current_admin(user.id) is None:
        auth_event("admin.denied", level=logging.WARNING, user_id=user.id, method=action, path="alarms")
        raise Forbidden("Only administrators can use the admin tools.")
    auth_event("admin.access", user_id=user.id, method=action, path="alarms")


async def _board(ctx: Context, notice: str = "") -> AlarmBoard:
    redis = ctx.services.redis
    counts = await alarm_store.alarm_counts(redis)
    now = time.time()
    rows = []
    for info in await alarm_store.list_alarms(redis, limit=LIMIT):
        state: str = info.state
        if state == "pending":
            state = "due" if info.next_at.timestamp() <= now else "scheduled"
        rows.append(
            AlarmRow(info.member, info.kind, info.actor_id, state, info.next_at, info.attempt, info.error)
        )
    return AlarmBoard(
        due=counts.due,
        running=counts.running,
        retrying=counts.retrying,
        dead=counts.dead,
        scheduled=counts.scheduled,
        alarms=rows,
        notice=notice,
    )


def _target(member: str) -> tuple[str, str]:
    try:
        return alarm_store.parse_member(member)
    except ValueError as exc:
        raise ValidationFailed("Not an alarm", field_errors={"member": str(exc)}) from None


@query(path="/admin-tools/alarms", public=False, partial=PARTIAL, page=PAGE, result_as="board")
async def alarm_board(ctx: Context) -> AlarmBoard:
    """Admins: alarm counts and the alarms (outbox mail, sweeps, counter resets...) with their last error."""
    await _require_admin(ctx, "GET")
    return await _board(ctx)


@command(path="/admin-tools/alarms/retry", public=False, partial=PARTIAL, page=PAGE, result_as="board")
async def retry_alarm(ctx: Context, member: Member) -> AlarmBoard:
    """Admins: run an alarm now with a fresh count of tries (a dead-lettered one too)."""
    await _require_admin(ctx, "POST retry")
    kind, actor_id = _target(member)
    done = await alarm_store.retry_alarm(runner_for(ctx.services.redis), kind, actor_id)
    return await _board(ctx, f"{member}: due now." if done else f"{member} has no alarm any more.")


@command(path="/admin-tools/alarms/discard", public=False, partial=PARTIAL, page=PAGE, result_as="board")
async def discard_alarm(ctx: Context, member: Member) -> AlarmBoard:
    """Admins: delete an alarm, whatever its state (a discarded outbox mail is never sent)."""
    await _require_admin(ctx, "POST discard")
    kind, actor_id = _target(member)
    done = await ctx.services.actors.cancel_alarm(kind, actor_id)
    return await _board(ctx, f"{member}: discarded." if done else f"{member} has no alarm any more.")
