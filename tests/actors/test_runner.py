"""The script runner: coalescing per loop turn, the uncoalesced path, and one shared runner per client."""

from __future__ import annotations

import asyncio

import pytest

from actors.connection import RedisClient
from actors.preferences import PreferencesActor
from actors.scripts import ScriptRunner, _Call, runner_for
from tests.support.tally import TallyActor


class CountingRunner(ScriptRunner):
    """Counts round trips (batches sent), otherwise the real runner on the real server."""

    round_trips = 0

    async def _roundtrip(self, calls: list[_Call], wait: bool) -> list[object]:
        self.round_trips += 1
        return await super()._roundtrip(calls, wait)


async def test_runner_coalesces_one_turn_into_few_round_trips(redis: RedisClient, uid: str) -> None:
    runner = CountingRunner(redis)
    tally = TallyActor(redis, runner=runner)
    # Load the script first: on a server that has not seen it, each batch's NOSCRIPT costs a rerun.
    await tally.increment(f"{uid}-warm")
    runner.round_trips = 0
    results = await asyncio.gather(*(tally.increment(f"{uid}-{n % 7}") for n in range(100)))
    assert runner.round_trips <= 4  # 100 calls, at most 32 per batch
    assert sorted(r.version for r in results if r.id == f"{uid}-0") == list(range(1, 16))


async def test_runner_uncoalesced_sends_each_call_alone(redis: RedisClient, uid: str) -> None:
    runner = CountingRunner(redis, coalesce=False)
    tally = TallyActor(redis, runner=runner)
    results = await asyncio.gather(*(tally.increment(uid) for _ in range(20)))
    assert runner.round_trips == 20
    assert sorted(r.count for r in results) == list(range(1, 21))


async def test_runner_sequential_calls_of_one_caller_stay_in_order(redis: RedisClient, uid: str) -> None:
    tally = TallyActor(redis)

    async def caller(name: str) -> list[int]:
        return [(await tally.increment(f"{uid}-{name}")).count for _ in range(50)]

    for counts in await asyncio.gather(*(caller(str(n)) for n in range(10))):
        assert counts == list(range(1, 51))


async def test_runner_cancelled_caller_does_not_disturb_the_batch(redis: RedisClient, uid: str) -> None:
    tally = TallyActor(redis)
    doomed = asyncio.ensure_future(tally.increment(f"{uid}-doomed"))
    others = [asyncio.ensure_future(tally.increment(uid)) for _ in range(10)]
    doomed.cancel()
    assert sorted(r.count for r in await asyncio.gather(*others)) == list(range(1, 11))
    # The cancelled call was already queued, so it may or may not have run; it ran at most once.
    assert (await tally.get(f"{uid}-doomed")).count in (0, 1)


async def test_runner_is_shared_by_actors_of_one_client(redis: RedisClient) -> None:
    assert TallyActor(redis).runner is PreferencesActor(redis).runner is runner_for(redis)
    with pytest.raises(ValueError, match="already has a runner"):
        runner_for(redis, coalesce=False)
