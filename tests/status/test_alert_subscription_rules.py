"""Incident alert subscription rules, in-process (tests/inprocess.py).

Covered: an email subscription starts pending (target trimmed and lower-cased) and is activated
once by the mailed token; one active subscription per target and scope (a tenant's is apart
from the public one); a new request supersedes a pending one; an expired token is gone; only
the unsubscribe token (or a status manager) revokes; input validation (email, metadata);
webhook subscriptions need an authenticated status manager and a public https target; creating
is limited per address; alerts go to the active subscriptions whose filter matches the severity
(and tenant), and only status managers resend them.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from agentdeck.auth.tenancy import Principal
from agentdeck.context import Context
from agentdeck.db.models.status import StatusSubscription
from agentdeck.domain.status import subscriptions as subs
from agentdeck.domain.status.page import open_incident
from agentdeck.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from agentdeck.providers.mail import outbox
from tests.inprocess import platform, tenant_member


def operator(services) -> Context:
    return Context(services=services, principal=Principal(subject="bootstrap", scopes=frozenset({"platform:operator"})))


async def mailed_tokens(services, to: str) -> tuple[str, str]:
    """The verification and unsubscribe tokens of the newest confirmation mail to `to`."""
    mail = (await outbox(services.db, to, 1))[0]
    assert mail.kind == "status_subscription"
    token = re.search(r"[?&]token=([\w-]+)", mail.body_text)
    unsubscribe = re.search(r"unsubscribe_token=([\w-]+)", mail.body_text)
    assert token and unsubscribe
    return token.group(1), unsubscribe.group(1)


async def test_an_email_subscription_is_verified_once_and_revoked_by_its_token(tmp_path):
    async with platform(tmp_path) as services:
        public = Context(services=services)
        row = await subs.create(public, "email", "  Alice@Example.COM ", "major", {"team": "ops"})
        assert (row.target, row.status, row.tenant_id, row.created_by) == (
            "alice@example.com",
            "pending_verification",
            None,
            "public",
        )
        assert row.webhook_secret is None and subs.masked_target(row) == "a***@example.com"
        token, unsubscribe = await mailed_tokens(services, "alice@example.com")

        with pytest.raises(InvalidInput):
            await subs.verify(public, "")
        with pytest.raises(NotFound):
            await subs.verify(public, "not-the-token")
        with pytest.raises(NotFound):  # an email token is not a webhook challenge
            await subs.confirm_challenge(public, token)
        assert (await subs.verify(public, token)).status == "active"
        with pytest.raises(NotFound):  # the token works once
            await subs.verify(public, token)

        with pytest.raises(Conflict):
            await subs.create(public, "email", "alice@example.com", "all", None)
        owner = await tenant_member(services)
        mine = await subs.create(owner, "email", "alice@example.com", "all", None)  # the tenant's own
        assert mine.tenant_id == owner.principal.tenant_id and mine.status == "pending_verification"

        with pytest.raises(Unauthenticated):  # without its token, revoking takes a bearer...
            await subs.revoke(public, row.id, None)
        with pytest.raises(Forbidden):  # ...of a status manager
            await subs.revoke(owner, row.id, None)
        with pytest.raises(BadRequest):
            await subs.revoke(public, row.id, token)  # the verification token is not the unsubscribe one
        with pytest.raises(NotFound):
            await subs.revoke(public, uuid.uuid4(), unsubscribe)
        assert (await subs.revoke(public, row.id, unsubscribe)).status == "revoked"
        assert (await subs.revoke(public, row.id, unsubscribe)).status == "revoked"  # again: no change
        again = await subs.create(public, "email", "alice@example.com", "major", None)  # may subscribe anew
        assert again.id != row.id and again.status == "pending_verification"


async def test_pending_requests_are_superseded_and_tokens_expire(tmp_path):
    async with platform(tmp_path) as services:
        public = Context(services=services)
        first = await subs.create(public, "email", "bob@example.com", "all", None)
        first_token, _ = await mailed_tokens(services, "bob@example.com")
        second = await subs.create(public, "email", "bob@example.com", "all", None)
        second_token, _ = await mailed_tokens(services, "bob@example.com")
        assert first_token != second_token
        async with services.db.platform_session() as s:
            statuses = dict((await s.execute(select(StatusSubscription.id, StatusSubscription.status))).all())
        assert statuses == {first.id: "revoked", second.id: "pending_verification"}
        with pytest.raises(NotFound):  # the superseded mail's link no longer works
            await subs.verify(public, first_token)

        async with services.db.platform_session() as s:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await s.execute(update(StatusSubscription).values(verify_expires_at=past))
            await s.commit()
        with pytest.raises(Gone):
            await subs.verify(public, second_token)


async def test_subscription_input_and_who_may_subscribe_a_webhook(tmp_path):
    async with platform(tmp_path) as services:
        public = Context(services=services)
        with pytest.raises(InvalidInput) as exc:
            await subs.create(public, "email", "not an email", "all", {"blob": "x" * 5000})
        assert [d["field"] for d in exc.value.details] == ["input.target", "input.metadata"]
        with pytest.raises(InvalidInput) as exc:
            await subs.create(public, "email", "carol@example.com", "all", ["not", "an", "object"])
        assert [d["field"] for d in exc.value.details] == ["input.metadata"]
        with pytest.raises(Unauthenticated):
            await subs.create(public, "webhook", "https://hooks.example.com/x", "all", None)
        with pytest.raises(Forbidden):
            await subs.create(await tenant_member(services), "webhook", "https://hooks.example.com/x", "all", None)
        refused = Context(services=services, auth_error=Unauthenticated("Token expired"))
        with pytest.raises(Unauthenticated) as exc:  # a bad bearer is refused, not taken as anonymous
            await subs.create(refused, "email", "carol@example.com", "all", None)
        assert exc.value.message == "Token expired"
        for target in ("http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x"):
            with pytest.raises(BadRequest):
                await subs.create(operator(services), "webhook", target, "all", None)
        async with services.db.platform_session() as s:
            assert list(await s.scalars(select(StatusSubscription.id))) == []  # nothing refused was kept

        for n in range(subs.IP_LIMITS["email"]):  # refused input did not count; webhooks count apart
            await subs.create(public, "email", f"reader{n}@example.com", "all", None)
        with pytest.raises(RateLimited) as exc:
            await subs.create(public, "email", "one-more@example.com", "all", None)
        assert exc.value.retry_after > 0


async def test_alerts_go_to_active_subscriptions_whose_filter_matches(tmp_path):
    async with platform(tmp_path) as services:
        ops = operator(services)
        tenant = (await tenant_member(services)).principal.tenant_id
        async with services.db.platform_session() as s:
            for target, severity_filter, status, tenant_id in [
                ("all@example.com", "all", "active", None),
                ("major@example.com", "major", "active", tenant),
                ("maintenance@example.com", "maintenance", "active", None),
                ("pending@example.com", "all", "pending_verification", None),
                ("revoked@example.com", "all", "revoked", None),
            ]:
                s.add(
                    StatusSubscription(
                        channel="email",
                        target=target,
                        severity_filter=severity_filter,
                        status=status,
                        tenant_id=tenant_id,
                        created_by="public",
                    )
                )
            await s.commit()

        incident = await open_incident(ops, "API", "Elevated errors", "maintenance", "investigating")
        await subs.drain(5)
        alerted = {m.to_address for m in await outbox(services.db, None, 50) if m.kind == "status_alert"}
        assert alerted == {"all@example.com", "maintenance@example.com"}

        assert await subs.resend(ops, incident.id, "minor", None) == 1  # only "all" takes minor
        assert await subs.resend(ops, incident.id, "major", None) == 2
        assert await subs.resend(ops, incident.id, "all", None) == 3  # every active one
        assert await subs.resend(ops, incident.id, "all", tenant) == 1  # the tenant's own
        await subs.drain(5)
        with pytest.raises(NotFound):
            await subs.resend(ops, uuid.uuid4(), "all", None)
        with pytest.raises(Forbidden):
            await subs.resend(await tenant_member(services, "owner"), incident.id, "all", None)
