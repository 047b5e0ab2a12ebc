"""Account rules, in-process (tests/inprocess.py): domain/identity/account.py.

- a verification link works once; the profile reads the verified address at once, while the
  token keeps saying what it said when it was issued;
- a reset is answered alike for an unknown email (and mails nothing); a refused new password
  does not burn the link; a reset ends every session, and using one link ends the others;
- a password change needs the right current password (5 wrong ones in a window lock the change
  out, even with the right one), a different new one, and ends the caller's other sessions only.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from agentdeck.db.models.mail import OutboxMessage
from agentdeck.domain.identity.account import (
    FORGOT_MESSAGE,
    change_password,
    confirm_password_reset,
    forgot_password,
    send_verification,
    verify_email,
)
from agentdeck.domain.identity.auth import login, me
from agentdeck.domain.identity.registration import register
from agentdeck.errors import BadRequest, InvalidInput, RateLimited, Unauthenticated
from tests.inprocess import bearer, client, platform

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"


async def mailed_tokens(services, to: str, kind: str) -> list[str]:
    """The tokens of the links mailed to `to`, oldest first."""
    async with services.db.platform_session() as s:
        bodies = (
            await s.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.to_address == to, OutboxMessage.kind == kind)
                .order_by(OutboxMessage.created_at)
            )
        ).all()
    return [re.search(r"token=([\w-]+)", body).group(1) for body in bodies]


async def test_a_verification_link_works_once_and_the_profile_sees_it_at_once(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.1.1")
        reg = await register(anon, "gia@example.com", PASSWORD, "Gia's", None, None)
        ctx = await bearer(services, reg.signed_in.access.token)
        assert (await send_verification(ctx)).data is False  # a second link, also mailed
        first, second = await mailed_tokens(services, "gia@example.com", "email_verification")

        assert (await verify_email(anon, second)).message == "Email verified successfully."
        with pytest.raises(BadRequest, match="Invalid or expired verification token"):
            await verify_email(anon, second)
        with pytest.raises(BadRequest):
            await verify_email(anon, first)  # any link succeeding ends the others
        assert (await me(ctx)).user.email_verified_at is not None
        assert ctx.principal.claims["email_verified"] is False  # until the token is refreshed
        again = await send_verification(ctx)
        assert (again.message, again.data) == ("Email already verified.", True)
        assert len(await mailed_tokens(services, "gia@example.com", "email_verification")) == 2  # none sent


async def test_a_reset_is_answered_alike_spares_the_link_on_refusal_and_ends_every_session(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.1.2")
        reg = await register(anon, "hal@example.com", PASSWORD, "Hal's", None, None)
        other = await login(client(services, "10.0.1.3"), "hal@example.com", PASSWORD, None)

        assert (await forgot_password(anon, "nobody@example.com")).message == FORGOT_MESSAGE
        assert await mailed_tokens(services, "nobody@example.com", "password_reset") == []
        assert (await forgot_password(anon, " HAL@example.com")).message == FORGOT_MESSAGE
        await forgot_password(anon, "hal@example.com")
        first, second = await mailed_tokens(services, "hal@example.com", "password_reset")

        with pytest.raises(InvalidInput) as weak:
            await confirm_password_reset(anon, first, "short")
        assert weak.value.details[0]["field"] == "input.new_password"
        await confirm_password_reset(anon, first, NEW_PASSWORD)  # the refusal did not burn it

        with pytest.raises(BadRequest, match="Invalid or expired password reset token"):
            await confirm_password_reset(anon, second, "yet another long passphrase")
        for session in (reg.signed_in, other):
            with pytest.raises(Unauthenticated, match="Session has been revoked"):
                await bearer(services, session.access.token)
        with pytest.raises(Unauthenticated):
            await login(client(services, "10.0.1.4"), "hal@example.com", PASSWORD, None)
        await login(client(services, "10.0.1.4"), "hal@example.com", NEW_PASSWORD, None)


async def test_a_password_change_keeps_the_callers_session_and_wrong_guesses_lock_it_out(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.1.5")
        reg = await register(anon, "ida@example.com", PASSWORD, "Ida's", None, None)
        other = await login(anon, "ida@example.com", PASSWORD, None)
        ctx = await bearer(services, reg.signed_in.access.token)

        with pytest.raises(InvalidInput) as same:
            await change_password(ctx, PASSWORD, PASSWORD)
        assert same.value.details == [
            {"field": "input.new_password", "message": "The new password must differ from the current one."}
        ]
        await change_password(ctx, PASSWORD, NEW_PASSWORD)
        await bearer(services, reg.signed_in.access.token)  # the caller's session lives on
        with pytest.raises(Unauthenticated, match="Session has been revoked"):
            await bearer(services, other.access.token)

        for _ in range(5):
            with pytest.raises(BadRequest, match="Current password is incorrect"):
                await change_password(ctx, "not the password at all", "whatever passphrase it is")
        with pytest.raises(RateLimited) as locked:
            await change_password(ctx, NEW_PASSWORD, "one more long passphrase")
        assert 0 < locked.value.retry_after <= 900
