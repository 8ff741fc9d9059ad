"""Declaring a new actor kind outside `actors/`: a class, one .lua file beside it, nothing else."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.connection import RedisClient
from actors.keys import InvalidActorId, actor_key, validate_id
from actors.runtime import Actor, Operation


class Visits(msgspec.Struct, frozen=True):
    count: int
    last_page: str
    version: int


class VisitsActor(Actor):
    kind = "visits"
    _record = Operation("visits_record.lua")  # read from tests/actors/, beside this module

    async def record(self, visitor_id: str, page: str, *, request_id: str | None = None) -> Visits:
        return msgspec.json.decode(
            await self.call(self._record, visitor_id, (page,), request_id=request_id), type=Visits
        )


async def test_runtime_new_actor_kind_works_from_its_own_package(redis: RedisClient, uid: str) -> None:
    visits = VisitsActor(redis)
    results = await asyncio.gather(*(visits.record(uid, f"/p/{n}") for n in range(25)))
    assert sorted(r.version for r in results) == list(range(1, 26))
    assert await redis.hget(actor_key("visits", uid), "count") == b"25"
    assert (await visits.record(uid, "/again", request_id="r")) == (
        await visits.record(uid, "/x", request_id="r")
    )


def test_runtime_operation_names_come_from_file_names() -> None:
    assert VisitsActor._record.name == "record"
    assert VisitsActor._record.script is not None and VisitsActor._record.script.name == "visits_record"


def test_runtime_rejects_a_bad_kind() -> None:
    with pytest.raises(ValueError, match="invalid actor kind"):

        class Bad(Actor):  # defining the class is what fails
            kind = "Has Spaces"


@given(st.text(max_size=80))
def test_validate_id_accepts_exactly_the_documented_alphabet(candidate: str) -> None:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")
    if 1 <= len(candidate) <= 64 and set(candidate) <= allowed:
        assert validate_id(candidate) == candidate
    else:
        with pytest.raises(InvalidActorId):
            validate_id(candidate)
