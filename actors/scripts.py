"""Lua scripts: read from package files, run with EVALSHA, reloaded on NOSCRIPT, coalesced per loop turn."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.connection import RedisClient

_PRELUDE_FILE = "_prelude.lua"
MAX_NOSCRIPT_RELOADS = 3


class InvalidActorArgument(ValueError):
    """A script refused its arguments (its `EINVAL` reply) before writing anything."""


class DurabilityError(RedisError):
    """WAITAOF did not confirm the write in time: it was applied but may not be on disk yet.

    Retrying with the same request_id is safe: the script returns the stored result.
    """


@dataclass(frozen=True)
class Script:
    """One operation's Lua source (shared prelude + `<actor>_<op>.lua`) and its SHA1."""

    name: str
    source: bytes
    sha: str
    # The actor kind and operation it belongs to (metrics labels); empty for scripts of no actor.
    kind: str = ""
    op: str = ""
    # RESP bytes of `EVALSHA <sha>`, packed once; the runner appends numkeys, keys and args.
    evalsha_prefix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evalsha_prefix", b"$7\r\nEVALSHA\r\n$40\r\n" + self.sha.encode() + b"\r\n")

    @classmethod
    def from_package(
        cls, package: str, filename: str, *, kind: str = "", op: str = "", prelude: bool = True
    ) -> Script:
        """Load `filename` from `package`, behind the shared prelude unless `prelude=False`."""
        body = resources.files(package).joinpath(filename).read_text("utf-8")
        if prelude:
            shared = resources.files(__package__ or "actors").joinpath(_PRELUDE_FILE).read_text("utf-8")
            body = f"{shared}\n{body}"
        source = body.encode()
        sha = hashlib.sha1(source, usedforsecurity=False).hexdigest()
        return cls(filename.removesuffix(".lua"), source, sha, kind, op)


@dataclass(frozen=True)
class WaitAof:
    """Ask Redis 7.2+ to confirm each write is fsynced locally (and on replicas) before answering."""

    numlocal: int = 1
    numreplicas: int = 0
    timeout_ms: int = 1000


@dataclass(eq=False)
class _Call:
    script: Script
    keys: Sequence[str]
    args: Sequence[str | int | float]
    mutating: bool
    future: asyncio.Future[bytes] | None = None


def _pack(call: _Call) -> bytes:
    # Hand-packed RESP: redis-py's generic encoder costs more than the script call itself.
    items = [x.encode() if type(x) is str else repr(x).encode() for x in (*call.keys, *call.args)]
    numkeys = len(call.keys)
    head = b"*%d\r\n%s$%d\r\n%d\r\n" % (
        3 + len(items),
        call.script.evalsha_prefix,
        len(str(numkeys)),
        numkeys,
    )
    return head + b"".join([b"$%d\r\n%s\r\n" % (len(item), item) for item in items])


def _as_error(reply: ResponseError) -> Exception:
    message = str(reply)
    if message.startswith("EINVAL "):
        return InvalidActorArgument(message.removeprefix("EINVAL "))
    return reply


# Told of every finished call: the script and "ok" or "error" (metrics count actor calls this way).
CallObserver = Callable[[Script, str], None]


@dataclass(eq=False)
class ScriptRunner:
    """Runs scripts for every actor sharing one client.

    With `coalesce`, calls made in the same event-loop turn go out as one pipeline
    (per node on a cluster): one round trip and, with `appendfsync always`, one fsync
    for all of them. Each script is still atomic on its keys, and a caller's next call
    is queued only after its previous one answered, so per-caller order is unchanged.
    """

    redis: RedisClient
    coalesce: bool = True
    wait_aof: WaitAof | None = None
    max_batch: int = 32
    max_inflight: int = 4
    _queue: list[_Call] = field(default_factory=list, init=False)
    _flush_scheduled: bool = field(default=False, init=False)
    _inflight: int = field(default=0, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _waitaof_checked: bool = field(default=False, init=False)
    observers: list[CallObserver] = field(default_factory=list, init=False)

    async def run(
        self,
        script: Script,
        keys: Sequence[str],
        args: Sequence[str | int | float],
        *,
        mutating: bool = True,
    ) -> bytes:
        """EVALSHA `script`; reload it and retry on NOSCRIPT; return its (bytes) reply."""
        if self.wait_aof is not None and not self._waitaof_checked:
            await self._check_waitaof()
        call = _Call(script, keys, args, mutating)
        if not self.coalesce:
            (reply,) = await self._execute([call])
            self._observe(script, reply)
            if isinstance(reply, Exception):
                raise reply
            return reply
        loop = asyncio.get_running_loop()
        call.future = loop.create_future()
        self._queue.append(call)
        if len(self._queue) >= self.max_batch:
            # A full batch goes now, so Redis works on it while we queue the rest of this turn.
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await call.future

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._queue and self._inflight < self.max_inflight:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies: list[bytes | Exception] = await self._execute(batch)
        except Exception as exc:  # every waiter must hear of the failure
            replies = [exc] * len(batch)
        except BaseException:  # cancelled (loop shutting down): so are the waiters
            for call in batch:
                if call.future is not None:
                    call.future.cancel()
            raise
        finally:
            self._inflight -= 1
            if self._queue and not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
        for call, reply in zip(batch, replies, strict=True):
            self._observe(call.script, reply)
            fut = call.future
            if fut is None or fut.done():
                continue
            if isinstance(reply, BaseException):
                fut.set_exception(reply)
            else:
                fut.set_result(reply)

    def _observe(self, script: Script, reply: bytes | Exception) -> None:
        outcome = "error" if isinstance(reply, Exception) else "ok"
        for observer in self.observers:
            observer(script, outcome)

    async def _execute(self, calls: list[_Call]) -> list[bytes | Exception]:
        """Run the calls (one round trip per attempt); each reply or error lands at its index."""
        replies: list[bytes | Exception] = [b""] * len(calls)
        pending = list(range(len(calls)))
        for _ in range(MAX_NOSCRIPT_RELOADS + 1):
            wait = self.wait_aof is not None and any(calls[i].mutating for i in pending)
            if isinstance(self.redis, RedisCluster):
                answers = await self._cluster_roundtrip([calls[i] for i in pending])
            else:
                answers = await self._roundtrip([calls[i] for i in pending], wait)
            durability_failure = self._waitaof_failure(answers.pop()) if wait else None
            missing: list[int] = []
            for i, answer in zip(pending, answers, strict=True):
                if isinstance(answer, NoScriptError):
                    missing.append(i)
                elif isinstance(answer, ResponseError):
                    replies[i] = _as_error(answer)
                elif isinstance(answer, Exception):
                    replies[i] = answer
                elif durability_failure is not None and calls[i].mutating:
                    replies[i] = durability_failure
                else:
                    replies[i] = cast(bytes, answer)
            if not missing:
                return replies
            # Redis restarted, failed over or ran SCRIPT FLUSH: load once, rerun only the
            # calls that did not run (a NOSCRIPT reply means nothing was executed).
            for script in {calls[i].script.sha: calls[i].script for i in missing}.values():
                await self.redis.script_load(script.source)
            pending = missing
        for i in pending:
            replies[i] = NoScriptError(f"script {calls[i].script.name} kept disappearing from Redis")
        return replies

    async def _roundtrip(self, calls: list[_Call], wait: bool) -> list[object]:
        """Send the batch on one pooled connection and read every reply (errors as values).

        Retries the whole batch on connection errors and timeouts like redis-py's pipeline
        does; request ids in the scripts make a repeat of an already applied call harmless.
        """
        assert isinstance(self.redis, Redis)
        packed = [_pack(call) for call in calls]
        if wait and self.wait_aof is not None:
            w = self.wait_aof
            args = [b"WAITAOF", *(str(n).encode() for n in (w.numlocal, w.numreplicas, w.timeout_ms))]
            packed.append(b"*4\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        payload = b"".join(packed)
        pool = self.redis.connection_pool
        conn: Connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:

            async def attempt() -> list[object]:
                await conn.send_packed_command(payload)
                return await _read_replies(conn, len(packed))

            async def failed(error: Exception) -> None:
                await conn.disconnect(error=error)

            replies: list[object] = await conn.retry.call_with_retry(attempt, failed)
            return replies
        finally:
            await pool.release(conn)

    async def _cluster_roundtrip(self, calls: list[_Call]) -> list[object]:
        # redis-py's cluster pipeline splits the batch per node and follows MOVED/ASK.
        pipe = self.redis.pipeline(transaction=False)
        for call in calls:
            pipe.execute_command("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
        answers: list[object] = await pipe.execute(raise_on_error=False)
        return answers

    def _waitaof_failure(self, answer: object) -> DurabilityError | None:
        w = self.wait_aof
        if w is None:
            return None
        if isinstance(answer, Exception):
            return DurabilityError(f"WAITAOF failed: {answer}")
        local, replicas = (int(x) for x in answer)  # type: ignore[attr-defined]
        if local < w.numlocal or replicas < w.numreplicas:
            return DurabilityError(
                f"write applied but fsync confirmed by {local} local / {replicas} replica(s) "
                f"within {w.timeout_ms} ms (wanted {w.numlocal}/{w.numreplicas}); "
                "retry with the same request_id"
            )
        return None

    async def _check_waitaof(self) -> None:
        if isinstance(self.redis, RedisCluster):
            raise DurabilityError("WAITAOF mode is not supported on Redis Cluster clients yet")
        if not await supports_waitaof(self.redis):
            raise DurabilityError(
                "this Redis has no WAITAOF (needs Redis 7.2+): use appendfsync always on the server "
                "or run without wait_aof"
            )
        self._waitaof_checked = True


async def _read_replies(conn: Connection, count: int) -> list[object]:
    """`count` replies; one deadline for the whole batch instead of one timer per reply."""
    replies: list[object] = []
    try:
        async with asyncio.timeout(conn.socket_timeout):
            for _ in range(count):
                try:
                    replies.append(await conn.read_response(timeout=math.inf))
                except ResponseError as error:  # the reply was consumed: the stream stays in step
                    replies.append(error)
    except TimeoutError:
        await conn.disconnect(nowait=True)
        raise RedisTimeoutError(f"no reply from Redis within {conn.socket_timeout}s") from None
    return replies


async def supports_waitaof(redis: RedisClient) -> bool:
    """True when the server knows WAITAOF (Redis 7.2+, Valkey 8); older servers do not.

    Asks with a no-op `WAITAOF 0 0 1` (nothing to wait for, 1 ms cap): redis-py cannot parse
    `COMMAND INFO` of an unknown command.
    """
    try:
        await redis.execute_command("WAITAOF", 0, 0, 1)
    except RedisError:
        return False
    return True


_RUNNER_ATTRIBUTE = "_actors_script_runner"


def runner_for(redis: RedisClient, **options: object) -> ScriptRunner:
    """The shared runner of `redis` (created on first use with `options`), so all actors coalesce together."""
    # Kept on the client itself: a WeakKeyDictionary would never drop it (the runner refers to the client).
    runner: ScriptRunner | None = getattr(redis, _RUNNER_ATTRIBUTE, None)
    if runner is None:
        runner = ScriptRunner(redis, **options)  # type: ignore[arg-type]
        setattr(redis, _RUNNER_ATTRIBUTE, runner)
    elif options:
        raise ValueError("runner_for(): this client already has a runner; pass options on first use only")
    return runner
