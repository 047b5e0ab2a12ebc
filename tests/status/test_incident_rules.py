"""Incident and status page rules, in-process (tests/inprocess.py).

Covered: only status managers (operators, `status:manage`, `support:*`) open, update and resolve
incidents; incident input is validated and trimmed; `resolved_at` follows the state (set on
resolving, cleared on reopening) and the page counts open incidents; a service's state comes
from its latest probe (down: major outage; no probe: unknown) and from open incidents naming it
by key or name (degraded); the overall state says which kind of outage; uptime is the share of
passed probes in the last day / 30 days and in the period before; incidents are listed newest
first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.auth.tenancy import Principal
from agentdeck.context import Context
from agentdeck.db.models.status import StatusProbe
from agentdeck.domain.status.page import open_incident, platform_status, resolve_incident, update_incident
from agentdeck.domain.status.probes import SERVICES
from agentdeck.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from tests.inprocess import platform, tenant_member


def caller(services, *scopes: str) -> Context:
    return Context(services=services, principal=Principal(subject="service-account:ops", scopes=frozenset(scopes)))


async def add_probes(services, at: datetime, **results: bool) -> None:
    async with services.db.platform_session() as s:
        s.add_all(StatusProbe(service=key, ok=ok, checked_at=at) for key, ok in results.items())
        await s.commit()


def states(page) -> dict[str, str]:
    return {s.spec.key: s.status for s in page.services}


async def test_only_status_managers_manage_incidents(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services, "owner")
        with pytest.raises(Forbidden):  # a tenant's owner is not a platform operator
            await open_incident(owner, "API", "Slow", "minor", "investigating")
        with pytest.raises(Unauthenticated):
            await open_incident(Context(services=services), "API", "Slow", "minor", "investigating")
        incident = await open_incident(caller(services, "platform:operator"), "API", "Slow", "minor", "investigating")
        for ctx in (owner, caller(services, "status:read")):
            with pytest.raises(Forbidden):
                await resolve_incident(ctx, incident.id, None)
        for scope in ("status:manage", "status:*", "support:*"):
            updated = await update_incident(caller(services, scope), incident.id, f"by {scope}", None, None)
            assert updated.impact == f"by {scope}"
        assert (await platform_status(caller(services))).open_incidents == 1


async def test_incident_states_and_validation(tmp_path):
    async with platform(tmp_path) as services:
        ops = caller(services, "platform:operator")
        with pytest.raises(InvalidInput) as exc:
            await open_incident(ops, "   ", "x" * 501, "major", "investigating")
        assert [d["field"] for d in exc.value.details] == ["input.service", "input.impact"]
        with pytest.raises(NotFound):
            await update_incident(ops, uuid.uuid4(), "gone", None, None)

        incident = await open_incident(ops, "  Database ", " Replica lag ", "major", "investigating")
        assert (incident.service, incident.impact, incident.resolved_at) == ("Database", "Replica lag", None)
        identified = await update_incident(ops, incident.id, None, "identified", "minor")
        assert (identified.state, identified.severity, identified.impact) == ("identified", "minor", "Replica lag")
        with pytest.raises(InvalidInput):
            await update_incident(ops, incident.id, "  ", None, None)

        resolved = await resolve_incident(ops, incident.id, "Replica caught up")
        assert resolved.state == "resolved" and resolved.resolved_at is not None
        assert resolved.impact == "Replica caught up"
        assert (await platform_status(ops)).open_incidents == 0
        reopened = await update_incident(ops, incident.id, None, "monitoring", None)
        assert (reopened.state, reopened.resolved_at) == ("monitoring", None)
        assert (await platform_status(ops)).open_incidents == 1

        already = await open_incident(ops, "Storage", "Was down overnight", "minor", "resolved")
        assert already.resolved_at is not None
        assert (await platform_status(ops)).open_incidents == 1


async def test_service_states_and_the_overall_state(tmp_path):
    async with platform(tmp_path) as services:
        ops = caller(services, "platform:operator")
        page = await platform_status(ops)
        assert set(states(page).values()) == {"unknown"}  # no probe yet
        assert page.uptime[0].now is None and page.uptime[1].now is None

        now = datetime.now(UTC)
        all_up = {spec.key: True for spec in SERVICES}
        await add_probes(services, now - timedelta(minutes=2), **{**all_up, "database": False})
        await add_probes(services, now - timedelta(minutes=1), **{**all_up, "storage": False})
        page = await platform_status(ops)  # only the latest probe of each service counts
        assert states(page)["database"] == "operational" and states(page)["storage"] == "major_outage"
        assert (page.state, page.description) == ("Partial outage", "Unavailable: Storage.")
        assert page.updated_at == now - timedelta(minutes=1)

        await add_probes(services, now, **{**all_up, "api": False, "storage": False})
        page = await platform_status(ops)
        assert (page.state, page.description) == ("Major outage", "Unavailable: API, Storage.")

        await add_probes(services, now + timedelta(seconds=1), **all_up)
        by_key = await open_incident(ops, "llm", "Timeouts", "minor", "investigating")
        await open_incident(ops, "PAYMENTS", "Card declines", "major", "identified")  # by name, any case
        page = await platform_status(ops)
        assert {k for k, v in states(page).items() if v == "degraded"} == {"llm", "payments"}
        assert page.state == "Degraded performance"
        assert page.description == "Open incidents affect: LLM provider, Payments."
        await resolve_incident(ops, by_key.id, None)
        assert states(await platform_status(ops))["llm"] == "operational"


async def test_uptime_is_computed_from_the_probe_rows(tmp_path):
    async with platform(tmp_path) as services:
        ops = caller(services, "platform:operator")
        now = datetime.now(UTC)
        await add_probes(services, now - timedelta(hours=1), api=True, database=True, redis=True, storage=False)
        await add_probes(services, now - timedelta(hours=30), api=True, database=False)
        await add_probes(services, now - timedelta(days=40), api=False, database=False, redis=False, llm=True)
        await add_probes(services, now - timedelta(days=70), api=False)  # older than both windows

        day, month = (await platform_status(ops)).uptime
        assert (day.days, day.now, day.before) == (1, 75.0, 50.0)
        assert (month.days, month.before) == (30, 25.0) and month.now == pytest.approx(200 / 3)

        old = await open_incident(ops, "API", "Old", "minor", "resolved", occurred_at=now - timedelta(days=3))
        new = await open_incident(ops, "API", "New", "minor", "investigating", occurred_at=now - timedelta(hours=2))
        mid = await open_incident(ops, "Redis", "Mid", "minor", "resolved", occurred_at=now - timedelta(days=1))
        page = await platform_status(ops)
        assert [i.id for i in page.incidents] == [new.id, mid.id, old.id]
        api = next(s for s in page.services if s.spec.key == "api")
        assert api.last_incident_at == new.occurred_at


async def test_an_older_open_incident_still_degrades_its_service(tmp_path):
    async with platform(tmp_path) as services:
        ops = caller(services, "platform:operator")
        now = datetime.now(UTC)
        await add_probes(services, now, **{spec.key: True for spec in SERVICES})
        await open_incident(ops, "Storage", "Slow uploads", "minor", "monitoring", occurred_at=now - timedelta(days=9))
        for n in range(20):  # newer, all resolved
            await open_incident(ops, "API", f"Blip {n}", "minor", "resolved", occurred_at=now - timedelta(hours=n + 1))
        page = await platform_status(ops)
        assert page.open_incidents == 1
        assert states(page)["storage"] == "degraded"
