"""Consents, notification preferences, the mail that honours them and client logs, in-process
(tests/inprocess.py): domain/identity/preferences.py, domain/common/notifications.py,
domain/identity/client_logs.py.

- a consent is kept once per (policy, version), newest first, the caller's own only;
- preferences are one per channel and category in the tenant of the request, replaced by each
  update; unknown channels or categories, turning security mail off and another tenant's id are
  refused and change nothing;
- an optional notice is not mailed to a user who turned its category off (an outbox row says
  "suppressed"), is mailed otherwise, and security mail is always mailed;
- client log entries become one neutralised line each, marked as the client's; too large a
  submission is refused, and so are entries beyond the per-user rate.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import func, select

from agentdeck.db.models import NotificationPreference, OutboxMessage, User
from agentdeck.domain.common import notifications
from agentdeck.domain.identity import client_logs
from agentdeck.domain.identity import preferences as prefs
from agentdeck.domain.identity.client_logs import ClientLogEntry, PayloadTooLarge
from agentdeck.errors import Forbidden, InvalidInput, RateLimited, Unauthenticated
from agentdeck.providers.mail import Mail
from tests.inprocess import client, platform, tenant_member


async def _email_of(services, ctx) -> str:
    async with services.db.platform_session() as s:
        user = await s.get(User, uuid.UUID(ctx.principal.subject.removeprefix("user:")))
    return user.email


async def _outbox(services, to: str) -> list[tuple[str, str]]:
    async with services.db.platform_session() as s:
        rows = (await s.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.to_address) == to))).all()
    return [(row.kind, row.status) for row in rows]


async def test_consents_are_kept_once_per_version_newest_first_and_only_for_their_user(tmp_path):
    async with platform(tmp_path) as services:
        ada, bob = await tenant_member(services), await tenant_member(services)
        first = await prefs.record_consent(ada, "terms_of_service", "1", ip_hash="h" * 64)
        again = await prefs.record_consent(ada, " terms_of_service ", "1")
        assert again.id == first.id and again.accepted_at == first.accepted_at
        newer = await prefs.record_consent(ada, "terms_of_service", "2")
        await prefs.record_consent(ada, "privacy_policy", "2026-01")

        page = await prefs.list_consents(ada, 0, 10)
        assert page.total == 3
        assert [(c.policy_key, c.version) for c in page.items] == [
            ("privacy_policy", "2026-01"),
            ("terms_of_service", "2"),
            ("terms_of_service", "1"),
        ]
        assert page.items[1].id == newer.id
        assert (await prefs.list_consents(bob, 0, 10)).total == 0
        assert await prefs.consents_by_ids(bob, [first.id]) == [None]
        assert [c.id for c in await prefs.consents_by_ids(ada, [first.id]) if c] == [first.id]

        for key, version, field in (
            ("", "1", "input.policy_key"),
            ("   ", "1", "input.policy_key"),
            ("k", "", "input.version"),
        ):
            with pytest.raises(InvalidInput) as refused:
                await prefs.record_consent(ada, key, version)
            assert refused.value.details[0]["field"] == field
        assert (await prefs.list_consents(ada, 0, 10)).total == 3
        with pytest.raises(Unauthenticated):
            await prefs.record_consent(client(services), "terms_of_service", "1")


async def test_recording_consents_is_rate_limited_per_user(tmp_path):
    async with platform(tmp_path) as services:
        ada, bob = await tenant_member(services), await tenant_member(services)
        for i in range(prefs.CONSENTS_PER_HOUR):
            await prefs.record_consent(ada, "cookies", str(i))
        with pytest.raises(RateLimited) as refused:
            await prefs.record_consent(ada, "cookies", "late")
        assert refused.value.retry_after >= 1
        assert (await prefs.list_consents(ada, 0, 100)).total == prefs.CONSENTS_PER_HOUR
        await prefs.record_consent(bob, "cookies", "1")  # another user's budget is their own


async def test_preferences_are_per_tenant_replaced_and_checked(tmp_path):
    async with platform(tmp_path) as services:
        ada, bob = await tenant_member(services), await tenant_member(services, role="viewer")
        change = prefs.PreferenceChange
        rows = await prefs.update_preferences(
            ada, [change("email", "status_alerts", False), change("in_app", "product_updates", True)]
        )
        assert [(r.channel, r.category, r.enabled) for r in rows] == [
            ("email", "status_alerts", False),
            ("in_app", "product_updates", True),
        ]
        (again,) = await prefs.update_preferences(ada, [change("EMAIL", "status_alerts", True)])
        assert again.id == rows[0].id and again.enabled is True
        listed = await prefs.list_preferences(ada)
        assert [(r.channel, r.category, r.enabled) for r in listed] == [
            ("email", "status_alerts", True),
            ("in_app", "product_updates", True),
        ]
        assert all(r.tenant_id == ada.principal.tenant_id for r in listed)
        # Another user (in another tenant) sees none of them, even by id.
        assert await prefs.list_preferences(bob) == []
        assert await prefs.preferences_by_ids(bob, [rows[0].id]) == [None]

        refusals = [
            ([change("pigeon", "billing", True)], "input.channel"),
            ([change("email", "gossip", True)], "input.category"),
            ([change("email", "security", False)], "input.enabled"),
            ([change("email", "account", False)], "input.enabled"),
            ([change("email", "billing", False), change("email", "billing", True)], "input.1"),
        ]
        for changes, field in refusals:
            with pytest.raises(InvalidInput) as refused:
                await prefs.update_preferences(ada, changes)
            assert refused.value.details[0]["field"] == field, refused.value.details
        with pytest.raises(InvalidInput):
            await prefs.update_preferences(ada, [])
        with pytest.raises(Forbidden, match="Tenant context mismatch"):
            await prefs.update_preferences(ada, [change("email", "billing", False)], bob.principal.tenant_id)
        assert len(await prefs.list_preferences(ada)) == 2  # nothing refused was written


async def test_optional_mail_honours_the_preference_and_security_mail_is_always_sent(tmp_path):
    async with platform(tmp_path) as services:
        ada, bob = await tenant_member(services), await tenant_member(services)
        ada_email, bob_email = await _email_of(services, ada), await _email_of(services, bob)
        await prefs.update_preferences(ada, [prefs.PreferenceChange("email", "status_alerts", False)])

        def alert(to: str) -> Mail:
            return Mail(to=to, subject="[investigating] API: slow", text="slow", kind="status_alert")

        tenant = ada.principal.tenant_id
        assert await notifications.send_notice(services, alert(ada_email), notifications.STATUS_ALERTS, tenant) is None
        assert await notifications.send_notice(services, alert(ada_email.upper()), notifications.STATUS_ALERTS) is None
        assert await notifications.send_notice(services, alert(bob_email), notifications.STATUS_ALERTS) is not None
        # A preference of another tenant does not govern a notice about this one.
        assert await notifications.send_notice(
            services, alert(ada_email), notifications.STATUS_ALERTS, bob.principal.tenant_id
        )
        assert await notifications.send_notice(services, alert(ada_email), notifications.BILLING, tenant) is not None
        assert sorted(await _outbox(services, ada_email)) == [
            ("status_alert", "logged"),
            ("status_alert", "logged"),
            ("status_alert", "suppressed"),
            ("status_alert", "suppressed"),
        ]

        # Even a row that says otherwise (written around the rules) cannot stop security mail.
        async with services.db.session(tenant) as s:
            s.add(
                NotificationPreference(
                    user_id=uuid.UUID(ada.principal.subject.removeprefix("user:")),
                    channel="email",
                    category="security",
                    enabled=False,
                )
            )
            await s.commit()
        verify = Mail(to=ada_email, subject="Verify", text="link", kind="email_verification")
        assert await notifications.send_notice(services, verify, notifications.SECURITY, tenant) is not None
        with pytest.raises(ValueError):
            await notifications.send_notice(services, verify, "gossip")


async def test_client_logs_are_one_neutralised_line_each_marked_as_the_clients(tmp_path, caplog):
    async with platform(tmp_path) as services:
        ada = await tenant_member(services)
        user_id = ada.principal.subject.removeprefix("user:")
        forged = "boom\n2026-01-01T00:00:00.000Z ERROR agentdeck forged\u2028line\x7f"
        entries = [
            ClientLogEntry(
                event="ui.crash",
                level="error",
                message=forged,
                scope="checkout",
                fields={"level": "critical", "message": "override", "attempt\n": 3, "nested": {"a": ["x\ty"]}},
            ),
            ClientLogEntry(event="ui.click", level="WARN", message='x" user="forged'),
        ]
        with caplog.at_level(logging.DEBUG, logger="agentdeck.client"):
            assert await client_logs.submit(ada, entries) == 2
        first, second = caplog.records
        assert (first.levelno, second.levelno) == (logging.ERROR, logging.WARNING)
        line = first.getMessage()
        assert "\n" not in line and "\u2028" not in line and "\x7f" not in line and "\t" not in line
        assert line.startswith("client_log ") and f'user="{user_id}"' in line and "boom\\u000a2026" in line
        assert first.client_log is True and first.user_id == user_id and first.client_event == "ui.crash"
        assert first.client_fields == {"attempt\\u000a": 3, "nested": {"a": ["x\\u0009y"]}}  # reserved keys dropped
        assert "override" not in line
        assert second.getMessage().count('user="') == 1  # a quote in a value cannot end it

        caplog.clear()
        with pytest.raises(InvalidInput) as refused:
            await client_logs.submit(ada, [ClientLogEntry(event="x", level="shout")])
        assert refused.value.details[0]["field"] == "input.entries.0.level"
        deep: dict = {}
        for _ in range(20):
            deep = {"d": deep}
        for bad in (
            ClientLogEntry(event="x", fields=["not", "an", "object"]),
            ClientLogEntry(event="x", fields={f"k{i}": i for i in range(client_logs.MAX_FIELDS + 1)}),
            ClientLogEntry(event="x", fields=deep),
            ClientLogEntry(event=""),
        ):
            with pytest.raises(InvalidInput):
                await client_logs.submit(ada, [bad])
        with pytest.raises(InvalidInput):
            await client_logs.submit(ada, [ClientLogEntry(event="x")] * (client_logs.MAX_ENTRIES + 1))
        big = ClientLogEntry(
            event="x", message="m" * 2000, fields={"blob": "b" * services.settings.client_log_max_bytes}
        )
        with pytest.raises(PayloadTooLarge) as too_large:
            await client_logs.submit(ada, [big])
        assert too_large.value.details == {"max_bytes": services.settings.client_log_max_bytes}
        with pytest.raises(Unauthenticated):
            await client_logs.submit(client(services), [ClientLogEntry(event="x")])
        assert caplog.records == []  # nothing refused was logged


async def test_client_logs_are_rate_limited_per_user(tmp_path):
    async with platform(tmp_path, client_logs_per_minute=5) as services:
        ada, bob = await tenant_member(services), await tenant_member(services)
        assert await client_logs.submit(ada, [ClientLogEntry(event="x")] * 5) == 5
        with pytest.raises(RateLimited) as refused:
            await client_logs.submit(ada, [ClientLogEntry(event="x")])
        assert refused.value.extensions["rateLimit"]["limit"] == 5
        assert await client_logs.submit(bob, [ClientLogEntry(event="x")]) == 1
