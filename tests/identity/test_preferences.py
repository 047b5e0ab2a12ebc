"""Consents and notification preferences through a real server: REST (checked against the
extended contract) and the native graph (the typed client), the caller's own data only, bad input
refused with nothing changed; and the mail the platform sends honouring an opt-out, observed at
an SMTP sink. The rules in-process: test_preferences_rules.py."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest

from tests.graphql_client import (
    NotificationCategory,
    NotificationChannel,
    NotificationPreferenceInput,
    RecordConsentInput,
    UpdateNotificationPreferencesInput,
    UserErrorCode,
)
from tests.graphql_client.exceptions import GraphQLClientGraphQLMultiError
from tests.harness import BOOTSTRAP_SECRET, assert_documented, fresh_database, start_server
from tests.smtp_sink import SmtpSink
from tests.users import register, run_sql

CONSENTS, PREFS = "/api/v1/users/consents", "/api/v1/users/notification-preferences"


def call(srv, method: str, path: str, token: str | None = None, **kw):
    r = srv.rest(method, path, token=token, **kw)
    assert_documented(method, path, r, extended=True)
    return r


# Consents --------------------------------------------------------------------------------------


async def test_consents_through_rest_and_graphql_are_the_callers_own(server):
    ada = await asyncio.to_thread(register, server, verified=True)
    bob = await asyncio.to_thread(register, server, verified=True)
    body = {"policy_key": "terms_of_service", "version": "2026-01", "ip_hash": "a" * 64}
    r = await asyncio.to_thread(call, server, "POST", CONSENTS, ada.access_token, json=body)
    assert r.status_code == 201 and r.json() == {"success": True, "message": "Consent recorded.", "data": None}
    again = await asyncio.to_thread(call, server, "POST", CONSENTS, ada.access_token, json=body)
    assert again.status_code == 201  # the same acceptance again: kept once

    async with server.client(ada.access_token) as client:
        recorded = (
            await client.record_consent(RecordConsentInput(policy_key="privacy_policy", version="3"))
        ).record_consent
        assert recorded.user_errors == [] and recorded.consent is not None
        # A declared bound (here: a policy key must not be blank) is refused before anything runs.
        with pytest.raises(GraphQLClientGraphQLMultiError) as blank:
            await client.record_consent(RecordConsentInput(policy_key=" ", version="3"))
        assert blank.value.errors[0].extensions["code"] == "INVALID_INPUT"
        mine = (await client.my_consents_and_preferences(first=10)).me
        assert mine.consents is not None and mine.consents.total_count == 2
        assert [(c.policy_key, c.version) for c in mine.consents.nodes] == [
            ("privacy_policy", "3"),
            ("terms_of_service", "2026-01"),
        ]
        consent_id = recorded.consent.id

    r = await asyncio.to_thread(call, server, "GET", CONSENTS, ada.access_token)
    assert r.status_code == 200
    assert [(c["policy_key"], c["version"]) for c in r.json()] == [
        ("privacy_policy", "3"),
        ("terms_of_service", "2026-01"),
    ]
    assert "ip_hash" not in r.json()[1]  # kept, never shown

    # Another user (another tenant) sees none of them, by list or by id.
    r = await asyncio.to_thread(call, server, "GET", CONSENTS, bob.access_token)
    assert r.status_code == 200 and r.json() == []
    async with server.client(bob.access_token) as stranger:
        assert (await stranger.node(id=consent_id)).node is None
        assert (await stranger.my_consents_and_preferences()).me.consents.total_count == 0


def test_bad_consents_are_refused_and_change_nothing(server):
    ada = register(server)
    refusals = [
        ({"policy_key": "k" * 65, "version": "1"}, ["body", "policy_key"]),
        ({"policy_key": "terms", "version": "v" * 33}, ["body", "version"]),
        ({"policy_key": "terms"}, ["body", "version"]),
        ({"policy_key": "", "version": "1"}, ["body", "policy_key"]),
        ({"policy_key": "terms\x00", "version": "1"}, ["body", "policy_key"]),
        ({"policy_key": "terms", "version": "1", "ip_hash": "h" * 129}, ["body", "ip_hash"]),
        ({"policy_key": "terms", "version": "1", "granted": False}, ["body", "granted"]),
    ]
    for body, loc in refusals:
        r = call(server, "POST", CONSENTS, ada.access_token, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["details"][0]["loc"] == loc, (body, r.json())
    assert call(server, "GET", CONSENTS, ada.access_token).json() == []
    # Consents come before verification: an unverified user records them.
    assert (
        call(server, "POST", CONSENTS, ada.access_token, json={"policy_key": "terms", "version": "1"}).status_code
        == 201
    )
    assert call(server, "GET", CONSENTS).status_code == 401
    assert call(server, "POST", CONSENTS, json={"policy_key": "terms", "version": "1"}).status_code == 401


# Notification preferences ----------------------------------------------------------------------


async def test_preferences_through_rest_and_graphql_in_the_callers_tenant(server):
    ada = await asyncio.to_thread(register, server, verified=True)
    bob = await asyncio.to_thread(register, server, verified=True)
    body = {"channel": "email", "category": "marketing", "enabled": False}
    r = await asyncio.to_thread(call, server, "PUT", PREFS, ada.access_token, json=body)
    assert r.status_code == 200, r.text
    view = r.json()
    assert {k: view[k] for k in ("channel", "category", "enabled", "tenant_id")} == {
        **body,
        "tenant_id": ada.tenant_id,
    }
    headers = {"X-Tenant-Id": ada.tenant_id}
    r = await asyncio.to_thread(
        call, server, "PUT", PREFS, ada.access_token, json={**body, "enabled": True, "tenant_id": ada.tenant_id},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["id"] == view["id"] and r.json()["enabled"] is True

    async with server.client(ada.access_token) as client:
        changes = UpdateNotificationPreferencesInput(
            preferences=[
                NotificationPreferenceInput(
                    channel=NotificationChannel.EMAIL, category=NotificationCategory.STATUS_ALERTS, enabled=False
                ),
                NotificationPreferenceInput(channel=NotificationChannel.EMAIL, category=NotificationCategory.MARKETING),
            ]
        )
        updated = (await client.update_notification_preferences(changes)).update_notification_preferences
        assert updated.user_errors == [] and updated.notification_preferences is not None
        assert [(p.category, p.enabled) for p in updated.notification_preferences] == [
            (NotificationCategory.STATUS_ALERTS, False),
            (NotificationCategory.MARKETING, True),
        ]
        assert updated.notification_preferences[1].database_id == view["id"]
        security_off = UpdateNotificationPreferencesInput(
            preferences=[
                NotificationPreferenceInput(
                    channel=NotificationChannel.EMAIL, category=NotificationCategory.SECURITY, enabled=False
                )
            ]
        )
        refused = (await client.update_notification_preferences(security_off)).update_notification_preferences
        assert refused.notification_preferences is None
        assert refused.user_errors[0].field == ["input", "preferences", "0", "enabled"]
        assert refused.user_errors[0].code == UserErrorCode.INVALID
        mine = (await client.my_consents_and_preferences()).me.notification_preferences
        assert mine is not None and {(p.category, p.enabled) for p in mine.nodes} == {
            (NotificationCategory.STATUS_ALERTS, False),
            (NotificationCategory.MARKETING, True),
        }
        preference_id = mine.nodes[0].id

    r = await asyncio.to_thread(call, server, "GET", PREFS, ada.access_token, headers=headers)
    assert r.status_code == 200
    assert sorted((p["category"], p["enabled"]) for p in r.json()) == [("marketing", True), ("status_alerts", False)]

    # Another user (another tenant) sees none of them, and cannot write into ada's tenant.
    r = await asyncio.to_thread(call, server, "GET", PREFS, bob.access_token)
    assert r.status_code == 200 and r.json() == []
    async with server.client(bob.access_token) as stranger:
        assert (await stranger.node(id=preference_id)).node is None
    r = await asyncio.to_thread(call, server, "PUT", PREFS, bob.access_token, json={**body, "tenant_id": ada.tenant_id})
    assert r.status_code == 403
    r = await asyncio.to_thread(call, server, "GET", PREFS, bob.access_token, headers=headers)
    assert r.status_code == 403  # X-Tenant-Id must be the token's tenant
    assert len((await asyncio.to_thread(call, server, "GET", PREFS, ada.access_token)).json()) == 2


def test_bad_preferences_are_refused_and_change_nothing(server):
    ada = register(server, verified=True)
    refusals = [
        ({"channel": "pigeon", "category": "billing"}, ["body", "channel"], 422),
        ({"channel": "email", "category": "gossip"}, ["body", "category"], 422),
        ({"channel": "email", "category": "security", "enabled": False}, ["body", "enabled"], 422),
        ({"channel": "e" * 17, "category": "billing"}, ["body", "channel"], 422),
        ({"channel": "email", "category": "c" * 65}, ["body", "category"], 422),
        ({"channel": "email"}, ["body", "category"], 422),
        ({"channel": "email", "category": "billing", "tenant_id": "not-a-uuid"}, ["body", "tenant_id"], 422),
        ({"channel": "email", "category": "billing", "enabled": "perhaps"}, ["body", "enabled"], 422),
    ]
    for body, loc, status in refusals:
        r = call(server, "PUT", PREFS, ada.access_token, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["details"][0]["loc"] == loc, (body, r.json())
    assert call(server, "GET", PREFS, ada.access_token).json() == []
    assert call(server, "GET", PREFS).status_code == 401
    unverified = register(server)
    assert call(server, "GET", PREFS, unverified.access_token).status_code == 403


# The mail the platform sends honours the preferences -------------------------------------------


@pytest.fixture(scope="module")
def mail_srv(backend, tmp_path_factory):
    sink = SmtpSink().start()
    tmp = tmp_path_factory.mktemp(f"preferences-mail-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env={"AGENTDECK_SMTP_URL": sink.url}, backend=backend, database_url=url)
        srv.sink = sink  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()
            sink.stop()


TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")
OPEN = """mutation($input: OpenStatusIncidentInput!) { openStatusIncident(input: $input) {
  incident { id } userErrors { field code } } }"""


def _subscribe(srv, account) -> None:
    """An active email subscription to status alerts, for the account's own address."""
    body = {"channel": "email", "target": account.email, "severity_filter": "all"}
    r = srv.rest("POST", "/api/v1/status/subscriptions", token=account.access_token, json=body)
    assert r.status_code == 201, r.text
    confirm = srv.sink.wait_for(lambda m: m.to == account.email and m.subject.startswith("Confirm"), timeout=10)
    token = TOKEN.search(confirm.text).group(1)
    r = srv.rest("POST", "/api/v1/status/subscriptions/verify", json={"token": token})
    assert r.status_code == 200 and r.json()["status"] == "active", r.text


def _suppressed(srv, to: str, kind: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not run_sql(
        srv, "SELECT id FROM mail_outbox WHERE to_address = :to AND kind = :kind AND status = 'suppressed'",
        {"to": to, "kind": kind},
    ):  # fmt: skip
        assert time.monotonic() < deadline, f"no suppressed {kind} mail to {to}"
        time.sleep(0.1)


def test_opted_out_status_alerts_are_not_mailed_and_security_mail_always_is(mail_srv):
    quiet, keen = register(mail_srv, verified=True), register(mail_srv, verified=True)
    _subscribe(mail_srv, quiet)
    _subscribe(mail_srv, keen)
    off = {"channel": "email", "category": "status_alerts", "enabled": False}
    assert call(mail_srv, "PUT", PREFS, quiet.access_token, json=off).status_code == 200
    on = {"channel": "email", "category": "status_alerts", "enabled": True}
    assert call(mail_srv, "PUT", PREFS, keen.access_token, json=on).status_code == 200

    impact = f"Slow answers {uuid.uuid4().hex[:6]}"
    opened = mail_srv.gql(
        OPEN, {"input": {"service": "API", "impact": impact, "severity": "MAJOR"}}, token=BOOTSTRAP_SECRET
    )
    assert opened["data"]["openStatusIncident"]["userErrors"] == [], opened
    alert = mail_srv.sink.wait_for(lambda m: m.to == keen.email and impact in m.subject, timeout=10)
    assert impact in alert.text
    _suppressed(mail_srv, quiet.email, "status_alert")
    assert [m for m in mail_srv.sink.messages if m.to == quiet.email and impact in m.subject] == []

    # Security mail ignores the preferences: the password reset reaches the opted-out user.
    r = mail_srv.rest("POST", "/api/v1/auth/password/forgot", json={"email": quiet.email})
    assert r.status_code == 202, r.text
    reset = mail_srv.sink.wait_for(lambda m: m.to == quiet.email and m.subject == "Reset your password", timeout=10)
    assert "reset-password?token=" in reset.text

    # Turned back on, the next alert is mailed.
    assert call(mail_srv, "PUT", PREFS, quiet.access_token, json=on).status_code == 200
    impact = f"Slow answers {uuid.uuid4().hex[:6]}"
    mail_srv.gql(OPEN, {"input": {"service": "API", "impact": impact, "severity": "MAJOR"}}, token=BOOTSTRAP_SECRET)
    mail_srv.sink.wait_for(lambda m: m.to == quiet.email and impact in m.subject, timeout=10)
