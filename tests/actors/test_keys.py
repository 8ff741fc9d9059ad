"""Actor ids, keys and channels."""

from __future__ import annotations

import pytest

from actors.keys import InvalidActorId, actor_channel, actor_key, hashed_id, validate_id


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
    assert actor_key("tally", "abc") == "actor:tally:{abc}"
    assert actor_key("tally", "abc", "rq", "increment", "r1") == "actor:tally:{abc}:rq:increment:r1"


def test_actor_channel_names_the_actor() -> None:
    assert actor_channel("tally", "abc") == "actor:tally:{abc}:events"


def test_hashed_id_is_a_valid_id_for_any_string() -> None:
    raw = "signin:email:Ünïcode+{tag}@example.com"
    assert validate_id(hashed_id(raw)) == hashed_id(raw)
    assert hashed_id(raw) != hashed_id(raw.lower())
