"""The alarm scheduler: claims due actor alarms with a lease, runs `alarm()`, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from actors import alarm_store
from actors.alarm_store import (
    BEGIN,
    CLAIM,
    FINISH,
    SHARDS,
    AlarmCounts,
    Firing,
    Payload,
    alarm_key,
    parse_member,
    request_id_for,
    shard_keys,
)
from actors.runtime import ActorSet, discover, new_request_id, registered
from actors.scripts import ScriptRunner, runner_for

log = logging.getLogger(__name__)

# Told of each firing: actor kind, lateness in seconds (start minus due time), outcome (ok/retry/dead/...).
FireObserver = Callable[[str, float, str], None]
CountObserver = Callable[[AlarmCounts], None]
MAX_ERROR_CHARS = 500
ERROR_LOG_INTERVAL = 30.0
# Held for one repair interval by the process that runs that interval's repair pass.
REPAIR_LOCK = "alarms:repair"


def _items(reply: object) -> list[object]:
    # The runner types every reply as bytes; these scripts return arrays.
    if not isinstance(reply, list):
        raise TypeError(f"expected an array reply, got {reply!r}")
    return reply


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class AlarmPolicy:
    """How alarms are claimed and retried; the defaults follow Durable Objects (6 tries, 1 s doubling)."""

    max_tries: int = 6
    backoff_base: float = 1.0  # seconds before the first retry
    backoff_factor: float = 2.0
    lease: float = 30.0  # seconds a claim holds an alarm; a dead worker's alarms are due again after it
    poll_interval: float = 0.25
    max_inflight: int = 64  # handlers running at once in this process
    count_interval: float = 5.0  # how often the index sizes are read for count observers
    shutdown_grace: float = 5.0  # seconds stop() lets running handlers finish
    # Every this many seconds one process (whichever takes REPAIR_LOCK) indexes alarm records
    # left unindexed by a writer that died between its two writes; the first pass one interval after start.
    repair_interval: float = 60.0

    def __post_init__(self) -> None:
        if self.max_tries < 1 or self.backoff_base < 0 or self.backoff_factor < 1:
            raise ValueError("max_tries >= 1, backoff_base >= 0 and backoff_factor >= 1 are required")
        if self.lease <= 0 or self.poll_interval <= 0 or self.repair_interval <= 0 or self.max_inflight < 1:
            raise ValueError(
                "lease, poll_interval and repair_interval must be positive, max_inflight at least 1"
            )


@dataclass(eq=False)
class AlarmScheduler(alarm_store.WakeListener):
    """Runs every process's share of due alarms; start it in the app lifespan or on its own.

    Each poll claims due alarms from every index shard (one Lua script per shard, atomic, with a
    lease), runs each actor's `alarm()` under `current_firing()`, then finishes it on the actor's
    record: clear it on success (the spent record expires), retry with backoff or dead-letter on an
    exception.
    """

    actors: ActorSet
    policy: AlarmPolicy = field(default_factory=AlarmPolicy)
    fire_observers: list[FireObserver] = field(default_factory=list)
    count_observers: list[CountObserver] = field(default_factory=list)
    _runner: ScriptRunner = field(init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _loop_task: asyncio.Task[None] | None = field(default=None, init=False)
    _repair_task: asyncio.Task[None] | None = field(default=None, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _wake_at_ms: float = field(default=math.inf, init=False)
    _next_count: float = field(default=0.0, init=False)
    _quiet_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        runner = self.actors.runner
        self._runner = runner if runner is not None else runner_for(self.actors.redis)

    def alarm_set(self, at_ms: int) -> None:
        # Only an alarm due before the next poll needs waking for; later ones the poll will find.
        if at_ms < self._wake_at_ms and at_ms < (time.time() + self.policy.poll_interval) * 1000:
            self._wake_at_ms = at_ms
            self._wake.set()

    async def start(self, *, packages: tuple[str, ...] = ("actors",)) -> None:
        """Import the actor packages (so every kind is registered) and start polling."""
        for package in packages:
            discover(package)
        alarm_store.listen_for_alarms(self)
        self._loop_task = asyncio.create_task(self._loop(), name="alarm-scheduler")
        self._repair_task = asyncio.create_task(self._repair_loop(), name="alarm-repair")

    async def stop(self) -> None:
        """Stop claiming; give running handlers `shutdown_grace` seconds, then cancel them.

        A cancelled handler's alarm keeps its lease and runs again once the lease ends.
        """
        alarm_store.stop_listening(self)
        for task in (self._loop_task, self._repair_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loop_task = self._repair_task = None
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.policy.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def __aenter__(self) -> AlarmScheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _loop(self) -> None:
        while True:
            try:
                more = await self._poll()
                if self.count_observers and time.monotonic() >= self._next_count:
                    self._next_count = time.monotonic() + self.policy.count_interval
                    counts = await alarm_store.alarm_counts(self.actors.redis)
                    for count_observer in self.count_observers:
                        count_observer(counts)
            except Exception:
                # Redis down: keep polling, but log once per ERROR_LOG_INTERVAL rather than 4 times a second.
                if time.monotonic() >= self._quiet_until:
                    self._quiet_until = time.monotonic() + ERROR_LOG_INTERVAL
                    log.exception("alarm scheduler: poll failed; retrying every poll interval")
                more = False
            if more:
                await asyncio.sleep(0)
                continue
            await self._sleep()

    async def _repair_loop(self) -> None:
        # Its own task: a pass SCANs the whole keyspace, and claims must not wait for it.
        while True:
            await asyncio.sleep(self.policy.repair_interval)
            try:
                await self.repair()
            except Exception:
                log.exception(
                    "alarm scheduler: index repair failed; next pass in %s s", self.policy.repair_interval
                )

    async def repair(self) -> int:
        """This interval's index repair, unless another process has taken it; how many it indexed."""
        lock_ms = round(self.policy.repair_interval * 1000)
        if not await self.actors.redis.set(REPAIR_LOCK, new_request_id(), nx=True, px=lock_ms):
            return 0
        repaired = await alarm_store.repair_index(self._runner)
        if repaired:
            log.warning(
                "alarm scheduler: indexed %d alarm(s) whose writer died before indexing them", repaired
            )
        return repaired

    async def _sleep(self) -> None:
        """Until the next poll, or until an alarm this process set is due, whichever comes first."""
        deadline = time.time() + self.policy.poll_interval
        while (remaining := min(deadline, self._wake_at_ms / 1000) - time.time()) > 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
        if self._wake_at_ms <= time.time() * 1000:
            self._wake_at_ms = math.inf

    async def _poll(self) -> bool:
        """Claim and start what this process has room for; True when a shard may have more due."""
        room = self.policy.max_inflight - len(self._tasks)
        if room <= 0:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            return True
        per_shard = max(1, math.ceil(room / SHARDS))
        lease_ms = round(self.policy.lease * 1000)
        replies = await asyncio.gather(
            *(
                self._runner.run(CLAIM, shard_keys(shard)[:2], (lease_ms, per_shard))
                for shard in range(SHARDS)
            )
        )
        more = False
        for reply in replies:
            members = _items(reply)[1:]
            more = more or len(members) >= per_shard
            for raw in members:
                task = asyncio.create_task(self._fire(_str(raw)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return more

    async def run_due(self) -> int:
        """One claim round, waiting for the handlers it started; returns how many it started."""
        before = set(self._tasks)
        await self._poll()
        started = self._tasks - before
        await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    async def _fire(self, member: str) -> None:
        try:
            await self._fire_member(member)
        except Exception:
            # Redis trouble mid-firing: the lease stays, so the alarm is claimed again after it.
            log.exception("alarm %s: could not be run or finished; due again after its lease", member)

    async def _fire_member(self, member: str) -> None:
        kind, actor_id = parse_member(member)
        key = alarm_key(kind, actor_id)
        owner = new_request_id()
        lease_ms = round(self.policy.lease * 1000)
        begun = _items(await self._runner.run(BEGIN, [key], (lease_ms, owner)))
        status = _str(begun[0])
        if status == "gone":
            await alarm_store.index(self._runner, "done", member)
            return
        if status == "later":
            await alarm_store.index(self._runner, "later", member, int(_str(begun[1])))
            return
        generation, attempt, at_ms, next_ms, now_ms = (int(_str(x)) for x in begun[1:6])
        payload: Payload = json.loads(_str(begun[6]))
        firing = Firing(
            kind=kind,
            actor_id=actor_id,
            generation=generation,
            attempt=attempt,
            at=alarm_store.moment(at_ms),
            request_id=request_id_for(actor_id, generation),
        )
        error = await self._run_handler(firing, payload)
        policy = self.policy
        finished = _items(
            await self._runner.run(
                FINISH,
                [key],
                (
                    owner,
                    generation,
                    "ok" if error is None else "fail",
                    error or "",
                    policy.max_tries,
                    round(policy.backoff_base * 1000),
                    policy.backoff_factor,
                    alarm_store.SPENT_RECORD_TTL_MS,
                ),
            )
        )
        outcome = _str(finished[0])
        if outcome != "stale":
            score = int(_str(finished[1])) if len(finished) > 1 else 0
            await alarm_store.index(self._runner, outcome, member, score)
        if error is not None:
            log.warning("alarm %s (try %d) failed: %s; %s", member, attempt, error, outcome)
        lateness = max(0.0, (now_ms - next_ms) / 1000)
        for observer in self.fire_observers:
            observer(kind, lateness, "ok" if error is None else outcome)

    async def _run_handler(self, firing: Firing, payload: Payload) -> str | None:
        """Run the kind's `alarm()`; the error text if it raised or outlived most of its lease, else None."""
        cls = registered().get(firing.kind)
        token = alarm_store.enter_firing(firing)
        try:
            if cls is None:
                raise LookupError(f"no actor kind {firing.kind!r} is declared in this process")
            async with asyncio.timeout(self.policy.lease * 0.8):
                await self.actors.get(cls).alarm(firing.actor_id, payload)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            return text[:MAX_ERROR_CHARS]
        finally:
            alarm_store.leave_firing(token)
        return None
