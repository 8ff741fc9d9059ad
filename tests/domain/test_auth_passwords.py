"""Password rules, argon2id hashing and its concurrency cap, token hashing and field validation."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from domain.auth.passwords import (
    OWASP_MINIMUM,
    HashParams,
    PasswordHasher,
    common_passwords,
    password_problem,
)
from domain.auth.tokens import hash_token, new_token
from domain.auth.validation import clean_avatar, clean_email, clean_name
from domain.errors import Unavailable


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password123", "too common"),
        ("PassWord123", "too common"),
        ("aaaaaaaaaaaa", "too common"),
        ("ada.lovelace", "email address or name"),
    ],
)
def test_password_rules_reject(password: str, problem: str) -> None:
    assert problem in (password_problem(password, email="ada.lovelace@example.com", name="Ada") or "")


def test_password_rules_accept_a_passphrase() -> None:
    assert password_problem("correct horse battery", email="ada@example.com", name="Ada") is None
    assert password_problem("x" * 120 + "yz12345!") is None


def test_common_password_list_is_loaded() -> None:
    assert len(common_passwords()) > 100 and "qwertyuiop" in common_passwords()


def test_default_parameters_are_at_least_owasp() -> None:
    default = HashParams()
    assert default.memory_cost_kib >= OWASP_MINIMUM.memory_cost_kib
    assert default.time_cost >= OWASP_MINIMUM.time_cost


def test_hash_and_verify() -> None:
    hasher = PasswordHasher(OWASP_MINIMUM)

    async def main() -> None:
        stored = await hasher.hash("correct horse battery")
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert await hasher.verify(stored, "correct horse battery")
        assert not await hasher.verify(stored, "Correct horse battery")
        assert not await hasher.verify("not a hash", "x")
        assert not hasher.needs_rehash(stored)
        assert PasswordHasher(HashParams()).needs_rehash(stored)

    asyncio.run(main())


def test_hashing_runs_off_the_event_loop() -> None:
    hasher = PasswordHasher(OWASP_MINIMUM)

    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.gather(*(hasher.hash("correct horse battery") for _ in range(4)))
        done.set()
        await task
        return ticks

    assert asyncio.run(main()) > 10


def test_concurrency_cap_refuses_excess_at_once() -> None:
    hasher = PasswordHasher(OWASP_MINIMUM, max_concurrent=1, max_waiting=3)

    async def main() -> list[object]:
        stored = await hasher.hash("correct horse battery")
        return await asyncio.gather(
            *(hasher.verify(stored, "correct horse battery") for _ in range(10)), return_exceptions=True
        )

    start = time.perf_counter()
    results = asyncio.run(main())
    assert results.count(True) == 3
    assert sum(isinstance(r, Unavailable) for r in results) == 7
    assert time.perf_counter() - start < 5


def test_tokens_are_random_and_stored_as_sha256() -> None:
    token, stored = new_token()
    assert len(token) >= 43 and stored == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
    assert new_token()[0] != token


@pytest.mark.parametrize("email", ["a@b", "no-at.example.com", "a b@example.com", "a@@example.com", ""])
def test_invalid_emails(email: str) -> None:
    errors: dict[str, str] = {}
    clean_email(email, errors)
    assert "email" in errors


def test_email_is_normalized() -> None:
    errors: dict[str, str] = {}
    assert clean_email("  Ada@Example.COM ", errors) == "ada@example.com" and not errors


def test_name_and_avatar_rules() -> None:
    errors: dict[str, str] = {}
    assert clean_name("  Ada   Lovelace ", errors) == "Ada Lovelace"
    assert clean_avatar("", errors) is None
    assert clean_avatar("https://img.example/a.png", errors) == "https://img.example/a.png"
    assert not errors
    for bad in ("javascript:alert(1)", "data:image/png;base64,xx", "https://", "https://a.example/ b"):
        errors = {}
        clean_avatar(bad, errors)
        assert "avatar" in errors, bad
    errors = {}
    clean_name("x" * 101, errors)
    assert "name" in errors
