"""Declaring an Actor subclass registers it: services, admin inspector and metrics find it by kind."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from prometheus_client import REGISTRY
from redis.crc import key_slot

from actors.connection import RedisClient
from actors.durability import PROBE_KEY, probe
from actors.keys import actor_key
from actors.preferences import PreferencesActor
from actors.runtime import Actor, ActorSet, Operation, discover, registered
from actors.scripts import runner_for
from tests.support.tally import TallyActor
from web.metrics import instrument_actor_calls, instruments


class Likes(msgspec.Struct, frozen=True):
    count: int
    liked: bool
    version: int


class PostLikesActor(Actor):
    kind = "post_likes"
    _toggle = Operation("post_likes_toggle.lua", keys=("members",))

    async def toggle(self, post_id: str, user: str) -> Likes:
        return msgspec.json.decode(await self.call(self._toggle, post_id, (user,)), type=Likes)


def test_registry_knows_a_kind_as_soon_as_its_class_is_declared() -> None:
    assert registered()["post_likes"] is PostLikesActor


def test_registry_discovers_every_actor_module_of_the_package() -> None:
    kinds = discover()
    assert {"outbox", "preferences", "ratelimit"} <= set(kinds)
    assert kinds["preferences"] is PreferencesActor


def test_registry_refuses_a_second_class_for_one_kind() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class OtherLikes(Actor):
            kind = "post_likes"


def test_operation_name_is_the_file_name_less_the_kind_even_with_underscores_in_the_kind() -> None:
    # `post_likes_toggle.lua` is op `toggle` of kind `post_likes`, not op `likes_toggle` of kind `post`.
    assert PostLikesActor._toggle.name == "toggle"
    script = PostLikesActor._toggle.script
    assert script is not None and (script.kind, script.op) == ("post_likes", "toggle")


def test_operation_refuses_extra_key_names_that_clash_with_the_runtimes() -> None:
    for bad in ("rq", "events", "Members", "a b", ""):
        with pytest.raises(ValueError, match="extra key name"):
            Operation("x_y.lua", keys=(bad,))


async def test_operation_extra_keys_live_in_the_actors_slot(redis: RedisClient, uid: str) -> None:
    likes = ActorSet(redis).get(PostLikesActor)
    results = await asyncio.gather(*(likes.toggle(uid, f"user{n}") for n in range(10)))
    assert max(r.count for r in results) == 10
    assert (await likes.toggle(uid, "user3")) == Likes(count=9, liked=False, version=11)
    members = actor_key("post_likes", uid, "members")
    assert await redis.scard(members) == 9
    assert key_slot(members.encode()) == key_slot(actor_key("post_likes", uid).encode())


async def test_actor_set_gives_one_instance_per_kind(redis: RedisClient) -> None:
    actors = ActorSet(redis)
    assert actors.get(TallyActor) is actors.get(TallyActor)
    assert actors.of_kind("post_likes") is actors.get(PostLikesActor)
    with pytest.raises(KeyError, match="no actor kind 'nope'"):
        actors.of_kind("nope")


async def test_metrics_label_actor_calls_with_the_declaring_class_kind(redis: RedisClient, uid: str) -> None:
    instruments()
    instrument_actor_calls(redis)
    labels = {"kind": "post_likes", "op": "toggle", "outcome": "ok"}
    before = REGISTRY.get_sample_value("actor_calls_total", labels) or 0.0
    await PostLikesActor(redis, runner=runner_for(redis)).toggle(uid, "someone")
    assert REGISTRY.get_sample_value("actor_calls_total", labels) == before + 1


async def test_readiness_probe_runs_its_own_script_without_any_actor(redis: RedisClient) -> None:
    # A read of its own key: it needs no actor's keys and writes none (a shared Redis may hold others').
    assert await probe(redis) >= 0
    assert await redis.exists(PROBE_KEY) == 0
