"""Password hashing (argon2id) and every rule of the password policy."""

from __future__ import annotations

import pytest

from agentdeck.auth.passwords import (
    burn_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)

GOOD = "Tr0ub4dor&3xyz"  # 14 characters, four classes


def test_a_good_password_has_no_problems():
    assert password_problems(GOOD) == []
    assert password_problems(GOOD, email="alice@example.com") == []


@pytest.mark.parametrize(
    ("password", "ok"),
    [("Abc1!abc1!abc", False), ("Abc1!abc1!abcd", True)],  # 13 vs 14 characters
)
def test_minimum_length(password, ok):
    problems = password_problems(password)
    assert (problems == []) is ok
    assert any("at least 14" in p for p in problems) is not ok


def test_minimum_length_is_a_parameter():
    assert any("at least 16" in p for p in password_problems(GOOD, min_length=16))
    assert password_problems("Ab1!Ab1!Ab1!", min_length=12) == []


def test_maximum_length():
    assert any("at most 256" in p for p in password_problems("Ab1!" * 64 + "x"))
    assert password_problems("Ab1!" * 64) == []


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("abcdefghijklmn", False),  # one class
        ("abcdefghijklm7", False),  # two classes
        ("abcdefghijkL7x", True),  # lower, upper, digit
        ("abcdefghijk-7x", True),  # lower, symbol, digit
        ("ABCDEFGHIJK!@x", True),  # upper, symbol, lower
        ("correcthorsebatterystaple", True),  # one class, but a 20+ character passphrase
        ("abcdefghijklmnopqrs", False),  # 19 characters, one class
    ],
)
def test_character_classes_or_passphrase(password, ok):
    assert (password_problems(password) == []) is ok


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("alice@example.com", False),
        ("ALICE@example.com", False),  # case-insensitive
        ("bob@example.com", True),
        ("al@example.com", True),  # local part shorter than 3: not checked
        (None, True),
    ],
)
def test_must_not_contain_the_email_local_part(email, ok):
    problems = password_problems("my-Alice-pass-99", email=email)
    assert (problems == []) is ok
    assert any("email" in p for p in problems) is not ok


@pytest.mark.parametrize("password", ["password1234567", "PASSWORD1234567", "qwertyuiopasdfgh"])
def test_common_passwords_are_refused(password):
    assert "This password is too common." in password_problems(password)


def test_several_problems_are_all_reported():
    assert len(password_problems("alice", email="alice@x.org")) == 3  # length, classes, email


async def test_hash_verify_round_trip():
    hashed = await hash_password(GOOD)
    assert hashed.startswith("$argon2id$")
    assert hashed != await hash_password(GOOD)  # salted
    assert await verify_password(hashed, GOOD) is True
    assert await verify_password(hashed, GOOD + "x") is False
    assert needs_rehash(hashed) is False


async def test_garbage_hashes_do_not_raise():
    assert await verify_password("not-a-hash", GOOD) is False
    assert needs_rehash("not-a-hash") is True
    weak = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$ZqNKWxqIpfa3kmgqQ4lzb5gwnV8knWtxZiQX+5AoGC0"
    assert needs_rehash(weak) is True


async def test_burn_time_runs_twice_without_error():
    await burn_time(GOOD)  # first call builds the dummy hash
    await burn_time(GOOD)  # later calls verify against it


async def test_a_hash_of_another_cost_verifies_and_asks_to_be_rehashed():
    from agentdeck.auth import passwords

    try:
        passwords.configure(time_cost=2, memory_kib=19_456, parallelism=1)
        cheap = await hash_password(GOOD)
        assert "m=19456,t=2,p=1" in cheap and not needs_rehash(cheap)
        passwords.configure(time_cost=3, memory_kib=65_536, parallelism=4)
        assert await verify_password(cheap, GOOD) and needs_rehash(cheap)
        assert not needs_rehash(await hash_password(GOOD))
    finally:
        passwords.configure(time_cost=3, memory_kib=65_536, parallelism=4)  # argon2-cffi's defaults
