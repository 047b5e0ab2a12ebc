"""The status context's native GraphQL fields, in-process (tests/inprocess.py, the built schema).

Covered: health probes answer an enum and DateTimes; `publishNotice` answers a payload (a blank
message is a user error at `message`, a non-operator a top-level FORBIDDEN); the status page's
incidents are a connection of `Incident` nodes (first/after, pageInfo, totalCount, filter by state
and severity enums); `node(id:)` round-trips an incident and a subscription, and is null for a
missing id, an id of another type and another tenant's subscription; `incident(id:)` of a missing
id is null with NOT_FOUND at its path while the rest of `data` stands; incident mutations answer
payloads with user errors (blank impact, unknown id) and keep authentication and permission
top-level; the domain refuses an incident state or severity outside its sets (the CLI passes
plain strings); subscriptions list the caller's tenant's only, every tenant's through `operator`
for platform operators alone (and a status manager revokes its tenant's only, by id); subscribe/verify/revoke through payloads (conflict, bad token,
wrong unsubscribe token as user errors); `statusChanges` events are typed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from agentdeck.auth.tenancy import Principal
from agentdeck.context import Context
from agentdeck.domain.status import subscriptions as subs
from agentdeck.domain.status.page import open_incident, update_incident
from agentdeck.errors import InvalidInput
from agentdeck.schema import build_schema
from agentdeck.schema.graph import GlobalID
from agentdeck.schema.status import (
    IncidentChanged,
    IncidentState,
    ServiceCondition,
    ServiceConditionChanged,
    change_event,
)
from tests.inprocess import platform, tenant_member
from tests.status.test_alert_subscription_rules import mailed_tokens

SCHEMA = build_schema()


def operator(services) -> Context:
    return Context(services=services, principal=Principal(subject="bootstrap", scopes=frozenset({"platform:operator"})))


def manager(services, tenant_id: uuid.UUID | None = None) -> Context:
    principal = Principal(subject="service-account:ops", scopes=frozenset({"status:manage"}), tenant_id=tenant_id)
    return Context(services=services, principal=principal)


async def run(ctx: Context, query: str, variables: dict[str, Any] | None = None) -> Any:
    ctx.loaders.clear()
    return await SCHEMA.execute(query, variable_values=variables, context_value=ctx)


async def ok(ctx: Context, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await run(ctx, query, variables)
    assert result.errors is None, result.errors
    return result.data


def codes(result) -> list[str]:
    return [e.extensions["code"] for e in result.errors or []]


OPEN = """mutation($input: OpenStatusIncidentInput!) { openStatusIncident(input: $input) {
  incident { id databaseId service state severity occurredAt resolvedAt }
  userErrors { field message code } } }"""
UPDATE = """mutation($input: UpdateStatusIncidentInput!) { updateStatusIncident(input: $input) {
  incident { id state severity impact resolvedAt } userErrors { field message code } } }"""
RESOLVE = """mutation($input: ResolveStatusIncidentInput!) { resolveStatusIncident(input: $input) {
  incident { id state resolvedAt } userErrors { field code } } }"""
INCIDENTS = """query($first: Int, $after: String, $filter: IncidentFilter) { platformStatus {
  condition headline openIncidentCount
  incidents(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id service state severity } } } } }"""
SUBSCRIPTION_PAGE = """(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id databaseId channel status severityFilter targetMasked }
  }"""
SUBSCRIPTIONS = f"""query($filter: StatusSubscriptionFilter, $first: Int, $after: String) {{
  statusSubscriptions{SUBSCRIPTION_PAGE} }}"""
ALL_SUBSCRIPTIONS = f"""query($filter: StatusSubscriptionFilter, $first: Int, $after: String) {{
  operator {{ statusSubscriptions{SUBSCRIPTION_PAGE} }} }}"""
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Incident { service state } "
NODE += "... on StatusSubscription { status channel } } }"


async def opened(ctx: Context, service: str = "API", **input: Any) -> dict[str, Any]:
    data = await ok(ctx, OPEN, {"input": {"service": service, "impact": f"Slow {uuid.uuid4().hex[:6]}", **input}})
    payload = data["openStatusIncident"]
    assert payload["userErrors"] == []
    return payload["incident"]


async def test_health_probes_answer_enums_and_datetimes(tmp_path):
    async with platform(tmp_path) as services:
        ctx = Context(services=services)
        data = await ok(
            ctx,
            "{ health { status checkedAt version uptimeSeconds } readiness { status } "
            "storageHealth { status } service { name links { graphql rest } } }",
        )
        assert data["health"]["status"] == "HEALTHY" and data["health"]["checkedAt"].endswith("+00:00")
        assert data["health"]["uptimeSeconds"] >= 0
        assert data["readiness"]["status"] == "READY" and data["storageHealth"]["status"] == "HEALTHY"
        assert data["service"] == {"name": "agentdeck", "links": {"graphql": "/graphql", "rest": "/api/v1"}}


async def test_publish_notice_answers_a_payload(tmp_path):
    async with platform(tmp_path) as services:
        query = """mutation($m: String!) { publishNotice(input: {message: $m, level: WARNING}) {
          notice { message level publishedAt } userErrors { field message code } } }"""
        data = await ok(operator(services), query, {"m": " Maintenance at noon "})
        assert data["publishNotice"]["notice"]["message"] == "Maintenance at noon"
        assert data["publishNotice"]["notice"]["level"] == "WARNING"
        assert data["publishNotice"]["userErrors"] == []
        blank = (await ok(operator(services), query, {"m": "  "}))["publishNotice"]
        assert blank["notice"] is None
        assert blank["userErrors"] == [
            {"field": ["input", "message"], "message": "Notice message must be 1-500 characters.", "code": "INVALID"}
        ]
        owner = await tenant_member(services)
        assert codes(await run(owner, query, {"m": "hi"})) == ["FORBIDDEN"]


async def test_incidents_are_a_connection_of_nodes(tmp_path):
    async with platform(tmp_path) as services:
        ops = operator(services)
        first = await opened(ops, "API", severity="MINOR")
        second = await opened(ops, "Database")
        third = await opened(ops, "Storage", severity="MAINTENANCE", state="MONITORING")
        assert first["state"] == "INVESTIGATING" and first["severity"] == "MINOR" and first["resolvedAt"] is None
        assert first["occurredAt"].endswith("+00:00")

        public = Context(services=services)
        page = (await ok(public, INCIDENTS, {"first": 2}))["platformStatus"]
        assert page["condition"] == "OPERATIONAL" and page["headline"] == "All systems operational"  # no probes yet
        assert page["openIncidentCount"] == 3
        incidents = page["incidents"]
        assert incidents["totalCount"] == 3
        assert incidents["pageInfo"]["hasNextPage"] and not incidents["pageInfo"]["hasPreviousPage"]
        assert [e["node"]["id"] for e in incidents["edges"]] == [third["id"], second["id"]]  # newest first
        after = incidents["pageInfo"]["endCursor"]
        rest = (await ok(public, INCIDENTS, {"first": 2, "after": after}))["platformStatus"]["incidents"]
        assert [e["node"]["id"] for e in rest["edges"]] == [first["id"]]
        assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]

        by_state = {"filter": {"state": "MONITORING"}}
        assert (await ok(public, INCIDENTS, by_state))["platformStatus"]["incidents"]["totalCount"] == 1
        by_severity = {"filter": {"severity": "MAJOR", "state": "INVESTIGATING"}}
        found = (await ok(public, INCIDENTS, by_severity))["platformStatus"]["incidents"]
        assert [e["node"]["id"] for e in found["edges"]] == [second["id"]]
        assert codes(await run(public, INCIDENTS, {"first": 0})) == ["INVALID_INPUT"]
        bad = await run(public, INCIDENTS, {"filter": {"state": "investigating"}})  # enums are UPPER_CASE
        assert bad.errors and "IncidentState" in bad.errors[0].message


async def test_node_and_lookup_of_incidents(tmp_path):
    async with platform(tmp_path) as services:
        incident = await opened(operator(services))
        public = Context(services=services)
        node = (await ok(public, NODE, {"id": incident["id"]}))["node"]
        assert node == {"__typename": "Incident", "id": incident["id"], "service": "API", "state": "INVESTIGATING"}
        assert GlobalID.from_id(incident["id"]).node_id == incident["databaseId"]

        missing = str(GlobalID("Incident", str(uuid.uuid4())))
        assert (await ok(public, NODE, {"id": missing}))["node"] is None
        assert (await ok(public, NODE, {"id": str(GlobalID("Incident", "not-a-uuid"))}))["node"] is None

        result = await run(public, "query($id: ID!) { incident(id: $id) { id } health { status } }", {"id": missing})
        assert result.data == {"incident": None, "health": {"status": "HEALTHY"}}
        assert codes(result) == ["NOT_FOUND"] and result.errors[0].path == ["incident"]
        other_type = str(GlobalID("StatusSubscription", incident["databaseId"]))
        result = await run(public, "query($id: ID!) { incident(id: $id) { id } }", {"id": other_type})
        assert result.data == {"incident": None} and codes(result) == ["NOT_FOUND"]
        found = await ok(public, "query($id: ID!) { incident(id: $id) { impact } }", {"id": incident["id"]})
        assert found["incident"]["impact"].startswith("Slow")


async def test_incident_mutations_answer_payloads(tmp_path):
    async with platform(tmp_path) as services:
        ops = operator(services)
        incident = await opened(ops)
        blank = await ok(ops, OPEN, {"input": {"service": "API", "impact": " "}})
        assert blank["openStatusIncident"] == {
            "incident": None,
            "userErrors": [
                {"field": ["input", "impact"], "message": "Impact must be 1-500 characters.", "code": "INVALID"}
            ],
        }
        updated = (
            await ok(ops, UPDATE, {"input": {"id": incident["id"], "state": "IDENTIFIED", "severity": "MINOR"}})
        )["updateStatusIncident"]
        assert updated["incident"]["state"] == "IDENTIFIED" and updated["incident"]["severity"] == "MINOR"
        resolved = (await ok(ops, RESOLVE, {"input": {"id": incident["id"]}}))["resolveStatusIncident"]
        assert resolved["incident"]["state"] == "RESOLVED" and resolved["incident"]["resolvedAt"]
        reopened = await ok(ops, UPDATE, {"input": {"id": incident["id"], "state": "MONITORING"}})
        assert reopened["updateStatusIncident"]["incident"]["resolvedAt"] is None

        for unknown in (str(GlobalID("Incident", str(uuid.uuid4()))), "garbage"):
            missing = (await ok(ops, RESOLVE, {"input": {"id": unknown}}))["resolveStatusIncident"]
            assert missing == {"incident": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}

        input_ = {"input": {"service": "API", "impact": "x"}}
        assert codes(await run(Context(services=services), OPEN, input_)) == ["UNAUTHENTICATED"]
        assert codes(await run(await tenant_member(services), OPEN, input_)) == ["FORBIDDEN"]
        resend = "mutation($id: ID!) { resendStatusIncident(input: {id: $id, severity: ALL}) { dispatchedCount incident { id } } }"
        sent = (await ok(ops, resend, {"id": incident["id"]}))["resendStatusIncident"]
        assert sent == {"dispatchedCount": 0, "incident": {"id": incident["id"]}}


async def test_the_domain_refuses_states_and_severities_outside_their_sets(tmp_path):
    """The GraphQL enums refuse them too; the CLI (and REST, should it gain the operations) pass
    plain strings to the domain, which keeps the rule."""
    async with platform(tmp_path) as services:
        ops = operator(services)
        with pytest.raises(InvalidInput) as refused:
            await open_incident(ops, "API", "Slow", "huge", "investigating")
        assert refused.value.details[0]["field"] == "input.severity"
        with pytest.raises(InvalidInput) as refused:
            await open_incident(ops, "API", "Slow", "major", "closed")
        assert refused.value.details[0]["field"] == "input.state"
        row = await open_incident(ops, "API", "Slow", "major", "investigating")
        with pytest.raises(InvalidInput):
            await update_incident(ops, row.id, None, "done", None)
        with pytest.raises(InvalidInput):
            await update_incident(ops, row.id, None, None, "critical")
        assert (await update_incident(ops, row.id, None, "identified", "minor")).state == "identified"


async def test_subscriptions_are_scoped_to_the_tenant_and_operators_see_all(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        other = await tenant_member(services, tenant_name="Globex")
        assert owner.principal and other.principal
        mine = await subs.create(owner, "email", "mine@example.com", "all", None)
        theirs = await subs.create(other, "email", "theirs@example.com", "major", None)
        public = await subs.create(Context(services=services), "email", "anyone@example.com", "major", None)
        token, _ = await mailed_tokens(services, "mine@example.com")
        await subs.verify(Context(services=services), token)

        mine_manager = manager(services, owner.principal.tenant_id)
        listed = (await ok(mine_manager, SUBSCRIPTIONS, {}))["statusSubscriptions"]
        assert listed["totalCount"] == 1
        assert listed["nodes"][0]["databaseId"] == str(mine.id)
        assert listed["nodes"][0]["channel"] == "EMAIL" and listed["nodes"][0]["status"] == "ACTIVE"
        assert (
            listed["nodes"][0]["severityFilter"] == "ALL" and listed["nodes"][0]["targetMasked"] == "m***@example.com"
        )
        assert codes(await run(mine_manager, ALL_SUBSCRIPTIONS, {})) == ["FORBIDDEN"]
        assert codes(await run(owner, SUBSCRIPTIONS, {})) == ["FORBIDDEN"]  # not a status manager
        assert codes(await run(Context(services=services), SUBSCRIPTIONS, {})) == ["UNAUTHENTICATED"]

        ops = operator(services)
        everything = (await ok(ops, ALL_SUBSCRIPTIONS, {"first": 2}))["operator"]["statusSubscriptions"]
        assert everything["totalCount"] == 3 and everything["pageInfo"]["hasNextPage"]
        more = (await ok(ops, ALL_SUBSCRIPTIONS, {"after": everything["pageInfo"]["endCursor"]}))["operator"]
        ids = {n["databaseId"] for n in everything["nodes"] + more["statusSubscriptions"]["nodes"]}
        assert ids == {str(mine.id), str(theirs.id), str(public.id)}
        untenanted = (await ok(ops, SUBSCRIPTIONS, {}))["statusSubscriptions"]["nodes"]
        assert [n["databaseId"] for n in untenanted] == [str(public.id)]  # the operator's own scope: no tenant
        pending = {"filter": {"status": "PENDING_VERIFICATION", "channel": "EMAIL"}}
        assert (await ok(ops, ALL_SUBSCRIPTIONS, pending))["operator"]["statusSubscriptions"]["totalCount"] == 2

        mine_id, theirs_id = (
            str(GlobalID("StatusSubscription", str(mine.id))),
            str(GlobalID("StatusSubscription", str(theirs.id))),
        )
        assert (await ok(mine_manager, NODE, {"id": mine_id}))["node"]["status"] == "ACTIVE"
        assert (await ok(mine_manager, NODE, {"id": theirs_id}))["node"] is None  # another tenant's
        assert (await ok(ops, NODE, {"id": theirs_id}))["node"]["channel"] == "EMAIL"
        lookup = await run(mine_manager, "query($id: ID!) { statusSubscription(id: $id) { id } }", {"id": theirs_id})
        assert lookup.data == {"statusSubscription": None} and codes(lookup) == ["NOT_FOUND"]
        for outsider in (owner, Context(services=services)):  # not status managers: nothing to see
            assert (await ok(outsider, NODE, {"id": mine_id}))["node"] is None

        revoke = """mutation($id: ID!) { revokeStatusSubscription(input: {id: $id}) {
          statusSubscription { status } userErrors { field code } } }"""
        refused = (await ok(mine_manager, revoke, {"id": theirs_id}))["revokeStatusSubscription"]
        assert refused == {"statusSubscription": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}
        revoked = (await ok(ops, revoke, {"id": theirs_id}))["revokeStatusSubscription"]  # operators: any tenant's
        assert revoked == {"statusSubscription": {"status": "REVOKED"}, "userErrors": []}
        own = (await ok(mine_manager, revoke, {"id": mine_id}))["revokeStatusSubscription"]
        assert own["statusSubscription"] == {"status": "REVOKED"}


async def test_subscribe_verify_revoke_through_payloads(tmp_path):
    async with platform(tmp_path) as services:
        public = Context(services=services)
        create = """mutation($t: String!) { createStatusSubscription(input: {channel: EMAIL, target: $t}) {
          statusSubscription { id status severityFilter } webhookSecret userErrors { field message code } } }"""
        created = (await ok(public, create, {"t": "bob@example.com"}))["createStatusSubscription"]
        assert created["statusSubscription"]["status"] == "PENDING_VERIFICATION"
        assert created["statusSubscription"]["severityFilter"] == "MAJOR" and created["webhookSecret"] is None
        invalid = (await ok(public, create, {"t": "not-an-email"}))["createStatusSubscription"]
        assert invalid["userErrors"] == [
            {"field": ["input", "target"], "message": "value is not a valid email address", "code": "INVALID"}
        ]
        token, unsubscribe = await mailed_tokens(services, "bob@example.com")

        verify = """mutation($t: String!) { verifyStatusSubscription(input: {token: $t}) {
          statusSubscription { id status } userErrors { code } } }"""
        wrong = (await ok(public, verify, {"t": "nope"}))["verifyStatusSubscription"]
        assert wrong == {"statusSubscription": None, "userErrors": [{"code": "NOT_FOUND"}]}
        verified = (await ok(public, verify, {"t": token}))["verifyStatusSubscription"]
        assert verified["statusSubscription"] == {"id": created["statusSubscription"]["id"], "status": "ACTIVE"}
        conflict = (await ok(public, create, {"t": "bob@example.com"}))["createStatusSubscription"]
        assert [e["code"] for e in conflict["userErrors"]] == ["CONFLICT"]

        revoke = """mutation($id: ID!, $t: String) { revokeStatusSubscription(input: {id: $id, unsubscribeToken: $t}) {
          statusSubscription { status } userErrors { code } } }"""
        sub_id = created["statusSubscription"]["id"]
        bad = (await ok(public, revoke, {"id": sub_id, "t": "nope"}))["revokeStatusSubscription"]
        assert bad == {"statusSubscription": None, "userErrors": [{"code": "INVALID"}]}
        assert codes(await run(public, revoke, {"id": sub_id})) == ["UNAUTHENTICATED"]  # no token: a manager's call
        done = (await ok(public, revoke, {"id": sub_id, "t": unsubscribe}))["revokeStatusSubscription"]
        assert done == {"statusSubscription": {"status": "REVOKED"}, "userErrors": []}


def test_status_changes_are_typed_events():
    """Both kinds the bus carries (`probes.publish_change`); the stream itself runs over a
    WebSocket only, so tests/status/test_status.py follows it through a real server."""
    at = "2026-01-01T12:00:00+00:00"
    service = change_event(
        {
            "kind": "service",
            "service": "redis",
            "status": "major_outage",
            "incident_id": None,
            "impact": "down",
            "at": at,
        }
    )
    assert isinstance(service, ServiceConditionChanged)
    assert (service.service_key, service.condition, service.error) == ("redis", ServiceCondition.MAJOR_OUTAGE, "down")
    key = str(uuid.uuid4())
    incident = change_event(
        {"kind": "incident", "service": "API", "status": "monitoring", "incident_id": key, "impact": "Slow", "at": at}
    )
    assert isinstance(incident, IncidentChanged)
    assert (incident.incident_key, incident.state, incident.impact) == (key, IncidentState.MONITORING, "Slow")
    assert incident.at.isoformat() == at
