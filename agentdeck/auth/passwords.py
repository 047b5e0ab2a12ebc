"""Password hashing (argon2id) and the password policy.

Hashing and verifying take tens of milliseconds of CPU on purpose, so the async functions run
them in a worker thread instead of blocking the event loop. `burn_time` lets a login for an
unknown email cost as much as one for a known email, so response time does not reveal which
emails have accounts.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_LENGTH = 256
# From this length on a password is accepted whatever characters it uses (a passphrase).
PASSPHRASE_LENGTH = 20

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (t=3, m=64 MiB, p=4);
# `configure` sets the cost from settings at start-up.
_hasher = PasswordHasher()

# Compared case-insensitively. Only those that survive the length rule matter; a real breach
# list belongs in a later, optional check.
COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "password1234567",
        "password12345678",
        "password123456789",
        "passwordpassword",
        "123456789012345",
        "1234567890123456",
        "qwertyuiopasdfgh",
        "qwertyuiop123456",
        "1q2w3e4r5t6y7u8i",
        "iloveyou12345678",
        "letmeinletmein12",
        "welcome123456789",
        "administrator123",
        "changeme12345678",
        "aaaaaaaaaaaaaaaa",
    }
)

_dummy_hash: str | None = None


def configure(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Hash with this cost from now on (one process, one cost: set once, at start-up)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _dummy_hash = None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        # VerifyMismatchError is a VerificationError; a corrupt stored hash must not become a 500.
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters (or is unreadable): re-hash on login."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def _burn(password: str) -> None:
    global _dummy_hash
    if _dummy_hash is None:
        # The first call hashes instead of verifying: both cost one argon2 run, so even the first
        # unknown-email login takes as long as a real one. A race only computes it twice.
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        return
    _verify(_dummy_hash, password)


async def burn_time(password: str) -> None:
    """Spend the time of one `verify_password` without any account (unknown email)."""
    await asyncio.to_thread(_burn, password)


def password_problems(password: str, *, email: str | None = None, min_length: int = 14) -> list[str]:
    """Human-readable reasons why `password` is refused; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if len(password) < PASSPHRASE_LENGTH:
        classes = sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            )
        )
        if classes < 3:
            problems.append(
                "Mix at least three of: lowercase letters, uppercase letters, digits, symbols "
                f"(or use {PASSPHRASE_LENGTH} characters or more)."
            )
    if email:
        local = email.rpartition("@")[0] if "@" in email else email
        # Below 3 characters the local part would match by accident ("al" in "totally").
        if len(local) >= 3 and local.casefold() in password.casefold():
            problems.append("Do not use your email address in the password.")
    if password.casefold() in COMMON_PASSWORDS:
        problems.append("This password is too common.")
    return problems
