"""Multi-factor rules, in-process (tests/inprocess.py): domain/identity/mfa.py and the MFA steps of
domain/identity/auth.py.

- a pending method changes nothing; a verified one makes sign-in answer a challenge, which a TOTP
  code completes once (no replay of a code, nor of the challenge);
- secrets are sealed at rest (the row holds no secret, and opens only under its key and row);
- recovery codes: hashed, each usable once, regenerating replaces them;
- another user's method is not found; enrolments are capped;
- wrong codes are throttled like wrong passwords.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from agentdeck.auth.mfa_keys import MfaKeys, SealedSecretUnreadable, mfa_keys
from agentdeck.db.models.mfa import MfaMethod, MfaRecoveryCode
from agentdeck.domain.identity import mfa
from agentdeck.domain.identity.auth import MfaChallenge, SignedIn, complete_mfa_sign_in, login
from agentdeck.domain.identity.registration import register
from agentdeck.errors import BadRequest, Conflict, NotFound, RateLimited, Unauthenticated
from tests.inprocess import bearer, client, platform

PASSWORD = "correct horse battery staple"


def code_at(secret: str, steps: int = 0) -> str:
    """The code of the step `steps` away from now (the verifier accepts one step either side)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


async def user(services, address: str = "10.1.0.1"):
    anon = client(services, address)
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    reg = await register(anon, email, PASSWORD, "MFA Labs", None, None)
    return email, anon, await bearer(services, reg.signed_in.access.token, address)


async def with_totp(services, address: str = "10.1.0.1"):
    """A user with an active TOTP method; the current step's code is spent by the verification."""
    email, anon, me = await user(services, address)
    enrolled = await mfa.enroll_totp(me, "phone")
    await mfa.verify_totp(me, enrolled.method.id, code_at(enrolled.secret))
    return email, anon, me, enrolled


async def test_a_verified_method_turns_sign_in_into_a_challenge_that_a_code_completes_once(tmp_path):
    async with platform(tmp_path) as services:
        email, anon, me = await user(services)
        enrolled = await mfa.enroll_totp(me, "phone")
        assert enrolled.otpauth_uri.startswith("otpauth://totp/agentdeck:")
        assert f"secret={enrolled.secret}" in enrolled.otpauth_uri
        # Pending: the password alone still signs in.
        assert isinstance(await login(anon, email, PASSWORD, None), SignedIn)

        with pytest.raises(BadRequest, match="Invalid MFA code"):
            await mfa.verify_totp(
                me, enrolled.method.id, "000000" if code_at(enrolled.secret) != "000000" else "111111"
            )
        assert isinstance(await login(anon, email, PASSWORD, None), SignedIn)  # still pending
        method = await mfa.verify_totp(me, enrolled.method.id, code_at(enrolled.secret))
        assert mfa.is_active(method)

        challenge = await login(anon, email, PASSWORD, None)
        assert isinstance(challenge, MfaChallenge)
        assert [m.id for m in challenge.methods] == [enrolled.method.id]
        assert challenge.token.expires_at - challenge.token.issued_at == timedelta(minutes=5)
        # The challenge is no access token.
        with pytest.raises(Unauthenticated):
            await bearer(services, challenge.token.token)
        # The code that verified the method is spent: it cannot complete the sign-in.
        with pytest.raises(Unauthenticated, match="Invalid MFA code"):
            await complete_mfa_sign_in(anon, challenge.token.token, code_at(enrolled.secret), None)
        next_code = code_at(enrolled.secret, 1)
        signed_in = await complete_mfa_sign_in(anon, challenge.token.token, next_code, enrolled.method.id)
        assert (await bearer(services, signed_in.access.token)).principal is not None

        again = await login(anon, email, PASSWORD, None)
        assert isinstance(again, MfaChallenge)
        with pytest.raises(Unauthenticated, match="Invalid MFA code"):  # replay of a used code
            await complete_mfa_sign_in(anon, again.token.token, next_code, None)
        # A completed challenge does not open a second session, even with a good (recovery) code,
        # and the refused attempt does not spend that code.
        codes = await mfa.regenerate_recovery_codes(me)
        with pytest.raises(Unauthenticated, match="already been completed"):
            await complete_mfa_sign_in(anon, challenge.token.token, codes[0], None)
        assert await mfa.recovery_codes_left(me) == 10


async def test_the_secret_is_sealed_at_rest_and_opens_only_on_its_row_under_its_key(tmp_path):
    async with platform(tmp_path) as services:
        _, _, me = await user(services)
        enrolled = await mfa.enroll_totp(me, None)
        async with services.db.platform_session() as s:
            row = await s.get(MfaMethod, enrolled.method.id)
        assert enrolled.secret.encode() not in row.secret_sealed
        keys = mfa_keys(services.settings)
        assert keys.open(row.secret_sealed, row.id.bytes) == enrolled.secret
        with pytest.raises(SealedSecretUnreadable):
            keys.open(row.secret_sealed, uuid.uuid4().bytes)  # copied onto another row
        with pytest.raises(SealedSecretUnreadable):
            MfaKeys(b"another deployment's key").open(row.secret_sealed, row.id.bytes)
        assert (tmp_path / "keys" / "mfa.key").stat().st_mode & 0o077 == 0


async def test_recovery_codes_are_hashed_work_once_and_regenerating_replaces_them(tmp_path):
    async with platform(tmp_path) as services:
        email, anon, me, enrolled = await with_totp(services)
        first = await mfa.regenerate_recovery_codes(me)
        assert len(first) == 10 and len(set(first)) == 10 and all(len(c) == 8 for c in first)
        async with services.db.platform_session() as s:
            rows = (await s.scalars(select(MfaRecoveryCode))).all()
        stored = " ".join(f"{r.salt} {r.code_hash}" for r in rows)
        assert not any(code in stored for code in first)
        assert len({r.salt for r in rows}) == 10

        challenge = await login(anon, email, PASSWORD, None)
        assert isinstance(challenge, MfaChallenge)
        await complete_mfa_sign_in(anon, challenge.token.token, first[0].upper(), enrolled.method.id)
        assert await mfa.recovery_codes_left(me) == 9
        challenge = await login(anon, email, PASSWORD, None)
        assert isinstance(challenge, MfaChallenge)
        with pytest.raises(Unauthenticated):
            await complete_mfa_sign_in(anon, challenge.token.token, first[0], None)  # used

        second = await mfa.regenerate_recovery_codes(me)
        with pytest.raises(Unauthenticated):
            await complete_mfa_sign_in(anon, challenge.token.token, first[1], None)  # replaced
        await complete_mfa_sign_in(anon, challenge.token.token, second[0], None)
        assert await mfa.recovery_codes_left(me) == 9


async def test_another_users_method_is_not_found_and_deleting_turns_mfa_off(tmp_path):
    async with platform(tmp_path) as services:
        email, anon, me, enrolled = await with_totp(services)
        _, _, other = await user(services, "10.1.0.2")
        with pytest.raises(NotFound):
            await mfa.delete_method(other, enrolled.method.id)
        with pytest.raises(NotFound):
            await mfa.verify_totp(other, enrolled.method.id, code_at(enrolled.secret, 1))
        assert await mfa.methods_by_ids(other, [enrolled.method.id]) == [None]
        assert (await mfa.list_methods(other, 0, 10)).total == 0
        with pytest.raises(NotFound):
            await mfa.delete_method(me, uuid.uuid4())
        # The other user's wrong guesses did not spend the owner's code.
        assert isinstance(await login(anon, email, PASSWORD, None), MfaChallenge)

        deleted = await mfa.delete_method(me, enrolled.method.id)
        assert deleted.revoked_at is not None and not mfa.is_active(deleted)
        assert (await mfa.delete_method(me, enrolled.method.id)).revoked_at == deleted.revoked_at  # idempotent
        assert isinstance(await login(anon, email, PASSWORD, None), SignedIn)
        assert (await mfa.list_methods(me, 0, 10, include_revoked=False)).total == 0
        assert (await mfa.list_methods(me, 0, 10)).total == 1


async def test_enrolments_are_capped(tmp_path):
    async with platform(tmp_path) as services:
        _, _, me = await user(services)
        methods = [await mfa.enroll_totp(me, f"key {i}") for i in range(mfa.MAX_LIVE_METHODS)]
        with pytest.raises(Conflict):
            await mfa.enroll_totp(me, "one too many")
        await mfa.delete_method(me, methods[0].method.id)
        await mfa.enroll_totp(me, "room again")


async def test_wrong_codes_are_throttled_like_wrong_passwords(tmp_path):
    async with platform(tmp_path, login_backoff_free_failures=2, login_backoff_base_seconds=30) as services:
        email, anon, _, enrolled = await with_totp(services)
        challenge = await login(anon, email, PASSWORD, None)
        assert isinstance(challenge, MfaChallenge)
        right = code_at(enrolled.secret, 1)
        wrong = "123456" if right != "123456" else "654321"
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                await complete_mfa_sign_in(anon, challenge.token.token, wrong, None)
        with pytest.raises(RateLimited) as refused:
            await complete_mfa_sign_in(anon, challenge.token.token, right, None)  # even the right one waits
        assert refused.value.retry_after and refused.value.retry_after > 1
        # Another client is not slowed by this one's failures.
        elsewhere = client(services, "10.1.0.9")
        assert isinstance(await complete_mfa_sign_in(elsewhere, challenge.token.token, right, None), SignedIn)


async def test_a_users_codes_may_fail_only_a_few_times_an_hour_across_clients(tmp_path):
    async with platform(tmp_path) as services:
        email, anon, _, enrolled = await with_totp(services)
        challenge = await login(anon, email, PASSWORD, None)
        assert isinstance(challenge, MfaChallenge)
        right = code_at(enrolled.secret, 1)
        wrong = "123456" if right != "123456" else "654321"
        failures, window = mfa.ACCOUNT_FAILURES
        for i in range(failures):  # a distributed guesser: one guess per address
            with pytest.raises(Unauthenticated):
                await complete_mfa_sign_in(client(services, f"10.2.0.{i}"), challenge.token.token, wrong, None)
        with pytest.raises(RateLimited) as refused:
            await complete_mfa_sign_in(client(services, "10.2.1.1"), challenge.token.token, right, None)
        assert 1 <= refused.value.retry_after <= window
