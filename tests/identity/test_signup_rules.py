"""Signup rules, in-process (tests/inprocess.py): domain/identity/registration.py, invites.py
and signup.py.

- under `invite_only` registration needs a live invite for that email; each registration spends
  one redemption, and a registration that fails gives its redemption back; under `public` an
  invite is neither checked nor spent;
- an invite's status (active, revoked, exhausted, expired) is the same whether read from a row
  or filtered in SQL;
- issuing an invite reports every bad field at once; an invite without an expiry gets the default;
- under `approval`: one pending request per email, the honeypot keeps nothing, a request is
  decided once, approving issues the one invite that registers, and other invites do not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agentdeck.db.base import utcnow
from agentdeck.db.models.signup import SignupInvite, SignupRequest
from agentdeck.domain.identity import invites, signup
from agentdeck.domain.identity.registration import register
from agentdeck.errors import Conflict, Forbidden, InvalidInput
from tests.inprocess import client, platform, tenant_member

PASSWORD = "correct horse battery staple"


async def test_invite_only_registration_spends_a_live_invite_for_that_email(tmp_path):
    async with platform(tmp_path, signup_policy="invite_only") as services:
        operator, anon = await tenant_member(services), client(services, "10.0.2.1")
        with pytest.raises(Forbidden, match="An invite is required"):
            await register(anon, "jo@example.com", PASSWORD, "Jo's", None, None)
        personal = await signup.issue(operator, " JO@example.com", 1, None, None, None)
        with pytest.raises(Forbidden, match="issued for another email"):
            await register(anon, "kim@example.com", PASSWORD, "Kim's", None, personal.token)
        await register(anon, "jo@example.com", PASSWORD, "Jo's", None, personal.token)
        with pytest.raises(Forbidden, match="Invite is exhausted"):
            await register(anon, "jo@example.com", PASSWORD, "Jo's", None, personal.token)

        shared = await signup.issue(operator, None, 2, None, None, None)
        with pytest.raises(Conflict, match="already registered"):
            await register(anon, "jo@example.com", PASSWORD, "Jo again", None, shared.token)
        async with services.db.platform_session() as s:
            assert (await s.get(SignupInvite, shared.row.id)).redeemed_count == 0  # given back
        await register(anon, "kim@example.com", PASSWORD, "Kim's", None, shared.token)
        await signup.revoke(operator, shared.row.id)
        with pytest.raises(Forbidden, match="Invite is revoked"):
            await register(anon, "lee@example.com", PASSWORD, "Lee's", None, shared.token)


async def test_under_public_signup_an_invite_is_neither_checked_nor_spent(tmp_path):
    async with platform(tmp_path, signup_policy="public") as services:
        invite = await signup.issue(await tenant_member(services), None, 1, None, None, None)
        anon = client(services, "10.0.2.2")
        await register(anon, "max@example.com", PASSWORD, "Max's", None, "not-a-real-invite")
        await register(anon, "ned@example.com", PASSWORD, "Ned's", None, invite.token)
        async with services.db.platform_session() as s:
            assert (await s.get(SignupInvite, invite.row.id)).redeemed_count == 0


async def test_an_invite_is_issued_checked_and_its_status_reads_the_same_from_the_row_and_in_sql(tmp_path):
    async with platform(tmp_path) as services:
        operator = await tenant_member(services)
        with pytest.raises(InvalidInput) as bad:
            await signup.issue(operator, "not-an-email", 11, 0, "x" * 513, None)
        assert [d["field"] for d in bad.value.details] == [
            "input.invited_email",
            "input.max_redemptions",
            "input.expires_in_hours",
            "input.note",
        ]
        made = {status: await signup.issue(operator, None, 1, None, status, None) for status in invites.STATUSES}
        invite = made["active"]
        lifetime = invite.row.expires_at - invite.row.created_at
        assert timedelta(hours=72) - timedelta(seconds=5) < lifetime <= timedelta(hours=72)
        assert invite.row.token_hint == invite.token[-6:]
        assert invite.row.token_hash == invites.digest(invite.token) != invite.token

        async with services.db.platform_session() as s:
            rows = {k: await s.get(SignupInvite, v.row.id) for k, v in made.items()}
            rows["revoked"].revoked_at = utcnow()
            rows["revoked"].redeemed_count = 1  # revoked wins over exhausted
            rows["exhausted"].redeemed_count = 1
            rows["expired"].expires_at = utcnow() - timedelta(seconds=1)
            await s.commit()
            for status, row in rows.items():
                await s.refresh(row)
                assert invites.status_of(row) == status
        for status in invites.STATUSES:
            page = await signup.list_invites(operator, status, None, None, 50, 0)
            assert [row.note for row in page.items] == [status] and page.total == 1


async def test_under_approval_a_request_is_decided_once_and_its_invite_alone_registers(tmp_path):
    async with platform(tmp_path, signup_policy="approval") as services:
        operator, anon = await tenant_member(services), client(services, "10.0.2.3")
        for email in ("oli@example.com", " OLI@example.com"):
            await signup.request_access(anon, email, "Oli Corp", "Oli Olsen", None, None)
        await signup.request_access(anon, "bot@example.com", "Bots", "Bot Bot", None, "filled by a bot")
        async with services.db.platform_session() as s:
            requests = (await s.scalars(select(SignupRequest))).all()
        assert [(r.email, r.status) for r in requests] == [("oli@example.com", "pending")]

        decision = await signup.approve(operator, requests[0].id, "welcome", None)
        assert decision.invite.row.invited_email == "oli@example.com"
        assert decision.invite.row.max_redemptions == 1
        with pytest.raises(Conflict, match="already approved"):
            await signup.reject(operator, requests[0].id, "changed my mind")

        unattached = await signup.issue(operator, "oli@example.com", 1, None, None, None)
        with pytest.raises(Forbidden, match="not tied to an approved signup request"):
            await register(anon, "oli@example.com", PASSWORD, "Oli Corp", None, unattached.token)
        await register(anon, "oli@example.com", PASSWORD, "Oli Corp", None, decision.invite.token)
        async with services.db.platform_session() as s:
            spent = await s.scalar(select(func.sum(SignupInvite.redeemed_count)))
        assert spent == 1
