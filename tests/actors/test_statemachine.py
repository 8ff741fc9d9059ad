"""A stateful property test: concurrent TallyActor callers against a sequential model."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from actors.connection import create_redis
from actors.embedded import EmbeddedRedis
from tests.support.tally import TallyActor, TallyState

IDS = st.sampled_from(["a", "b", "c"])
REQUEST_IDS = st.one_of(st.none(), st.sampled_from([f"r{n}" for n in range(8)]))
CALL = st.tuples(IDS, st.integers(min_value=1, max_value=5), REQUEST_IDS)


class TallyMachine(RuleBasedStateMachine):
    """Each step runs a batch of increments concurrently; the model applies them one by one.

    Concurrent calls may run in any order, so per id the model checks what every order agrees
    on: the final count, the set of versions handed out, and that a repeated request id got
    the first call's exact result and added nothing.
    """

    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = create_redis(self.url)
        self.tally = TallyActor(self.client)
        self.prefix = uuid.uuid4().hex[:10]
        self.counts = {"a": 0, "b": 0, "c": 0}
        self.versions = {"a": 0, "b": 0, "c": 0}
        self.results: dict[tuple[str, str], TallyState] = {}

    def key(self, actor_id: str) -> str:
        return f"{self.prefix}-{actor_id}"

    @rule(calls=st.lists(CALL, min_size=1, max_size=12))
    def increment_concurrently(self, calls: list[tuple[str, int, str | None]]) -> None:
        async def batch() -> list[TallyState]:
            return await asyncio.gather(
                *(self.tally.increment(self.key(i), by=by, request_id=r) for i, by, r in calls)
            )

        results = self.loop.run_until_complete(batch())
        fresh: dict[str, list[TallyState]] = {"a": [], "b": [], "c": []}
        first_of: dict[tuple[str, str], TallyState] = {}
        for (actor_id, by, request_id), result in zip(calls, results, strict=True):
            if request_id is not None and (actor_id, request_id) in self.results:
                assert result == self.results[(actor_id, request_id)]
                continue
            if request_id is not None and (actor_id, request_id) in first_of:
                assert result == first_of[(actor_id, request_id)]
                continue
            if request_id is not None:
                first_of[(actor_id, request_id)] = result
            self.counts[actor_id] += by
            fresh[actor_id].append(result)
        self.results.update(first_of)
        for actor_id, states in fresh.items():
            start = self.versions[actor_id]
            assert sorted(s.version for s in states) == list(range(start + 1, start + 1 + len(states)))
            self.versions[actor_id] += len(states)
            if states:
                assert max(s.count for s in states) == self.counts[actor_id]

    @invariant()
    def matches_model(self) -> None:
        for actor_id, count in self.counts.items():
            state = self.loop.run_until_complete(self.tally.get(self.key(actor_id)))
            assert (state.count, state.version) == (count, self.versions[actor_id])

    def teardown(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def test_tally_state_machine_matches_sequential_model(actor_server: EmbeddedRedis) -> None:
    TallyMachine.url = actor_server.url
    run_state_machine_as_test(
        TallyMachine, settings=settings(max_examples=40, stateful_step_count=15, deadline=None)
    )
