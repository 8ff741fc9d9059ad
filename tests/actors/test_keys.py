"""Actor ids, keys and channels."""

from __future__ import annotations

import pytest

from actors.keys import (
    InvalidActorId,
    actor_channel,
    actor_key,
    child_name,
    fleet_keys,
    hashed_id,
    parent_of,
    scoped,
    tenant_of,
    validate_actor_id,
    validate_id,
)


@pytest.mark.parametrize("good", ["a", "user-42", "A.b:c_d-e", "x" * 64])
def test_validate_id_accepts_allowed_ids(good: str) -> None:
    assert validate_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "a{b}", "é", "a/b", "a\n", "*"])
def test_validate_id_rejects_bad_ids_with_the_rule_in_the_message(bad: str) -> None:
    with pytest.raises(InvalidActorId, match="1-64 characters"):
        validate_id(bad)


def test_invalid_actor_id_is_a_value_error() -> None:
    assert issubclass(InvalidActorId, ValueError)


def test_actor_key_keeps_one_hash_tag_for_all_suffixes() -> None:
    assert actor_key("counter", "abc") == "actor:counter:{abc}"
    assert actor_key("counter", "abc", "rq", "increment", "r1") == "actor:counter:{abc}:rq:increment:r1"


def test_actor_channel_names_the_actor() -> None:
    assert actor_channel("counter", "abc") == "actor:counter:{abc}:events"


def test_hashed_id_is_a_valid_id_for_any_string() -> None:
    raw = "signin:email:Ünïcode+{tag}@example.com"
    assert validate_id(hashed_id(raw)) == hashed_id(raw)
    assert hashed_id(raw) != hashed_id(raw.lower())


def test_scoped_ids_put_every_key_of_a_tenant_under_its_hash_tag() -> None:
    assert scoped("acme") == "org:{acme}"
    assert scoped("acme", "visits") == "org:{acme}/visits"
    assert actor_key("counter", scoped("acme", "visits")) == "actor:counter:org:{acme}/visits"
    assert (
        actor_key("counter", scoped("acme", "v"), "rq", "increment", "r1")
        == "actor:counter:org:{acme}/v:rq:increment:r1"
    )
    assert actor_channel("counter", scoped("acme", "v")) == "actor:counter:org:{acme}/v:events"
    assert fleet_keys(scoped("acme"), "counter") == (
        "actor:fleet:org:{acme}",
        "actor:fleet:org:{acme}:counter",
    )
    assert (
        tenant_of(scoped("acme", "v")),
        parent_of(scoped("acme", "v")),
        child_name(scoped("acme", "v")),
    ) == (
        "acme",
        "org:{acme}",
        "v",
    )
    assert (tenant_of("plain"), parent_of("plain"), parent_of(scoped("acme"))) == (None, None, None)


@pytest.mark.parametrize("bad", ["", "a{b", "a}b", "a/b", "a:b", "x" * 65, "é"])
def test_scoped_refuses_bad_tenants_and_names(bad: str) -> None:
    with pytest.raises(InvalidActorId, match="invalid tenant"):
        scoped(bad)
    if bad:
        with pytest.raises(InvalidActorId, match="invalid scoped actor name"):
            scoped("acme", bad)


@pytest.mark.parametrize(
    "bad",
    ["org:{}", "org:{a}/", "org:{a}/b/c", "org:{a}b", "org:{a}/{b}", "x:{a}/b", "org:{a:b}/c", "org:{a}/b:c"],
)
def test_only_well_formed_scoped_ids_are_actor_ids(bad: str) -> None:
    with pytest.raises(InvalidActorId):
        validate_actor_id(bad)
    with pytest.raises(InvalidActorId):
        actor_key("counter", bad)


def test_plain_id_rule_refuses_scoped_ids_so_urls_cannot_name_a_tenant_actor() -> None:
    assert validate_actor_id(scoped("acme", "v")) == "org:{acme}/v"
    with pytest.raises(InvalidActorId, match="1-64 characters"):
        validate_id(scoped("acme", "v"))
