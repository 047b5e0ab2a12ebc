"""The public status page (NOTES §9.1), its RSS feed, and incidents that operators manage.

Unlike the legacy static snapshot, services show the latest probe (`probes.py`),
incidents come from the database and uptime is computed from the probe history. Incident
changes are published on `status:changes` and sent to subscribers (`subscriptions.py`).
Who manages incidents: platform operators (`platform:operator`, also held by the bootstrap
secret) and any token granted `status:manage` (or `support:*`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy import func, select

from agentdeck.context import Context
from agentdeck.db.models.status import StatusIncident, StatusProbe
from agentdeck.domain.common.results import Page
from agentdeck.domain.status import subscriptions as subs
from agentdeck.domain.status.probes import CHANGES_CHANNEL, SERVICES, ServiceSpec, publish_change
from agentdeck.domain.status.subscriptions import require_status_manager
from agentdeck.errors import InvalidInput, NotFound

RECENT_INCIDENTS = 20
SEVERITIES = ("major", "minor", "maintenance")
STATES = ("investigating", "identified", "monitoring", "resolved")


@dataclass(frozen=True)
class ServiceState:
    """A service on the page: what it is, the state its latest probe and the open incidents put
    it in, and when an incident last named it."""

    spec: ServiceSpec
    status: str  # operational | degraded | major_outage | unknown
    last_incident_at: datetime | None


@dataclass(frozen=True)
class Uptime:
    """The share of health probes that passed across all services, in percent, in the last
    `days` and in the `days` before those (None: no probes then)."""

    days: int
    now: float | None
    before: float | None

    @property
    def change(self) -> float | None:
        """Percentage points gained (+) or lost since the period before; None without both."""
        return None if self.now is None or self.before is None else self.now - self.before

    @property
    def tone(self) -> str:
        """positive or negative when uptime moved by more than 0.005 points, else neutral."""
        change = self.change
        if change is None or abs(change) <= 0.005:
            return "neutral"
        return "positive" if change > 0 else "negative"


@dataclass(frozen=True)
class StatusPage:
    """The live status page. `state` and `description` say how the platform is overall;
    `updated_at` is when the newest probe ran."""

    generated_at: datetime
    state: str
    description: str
    updated_at: datetime
    services: list[ServiceState]
    incidents: list[StatusIncident]  # the most recent, newest first
    uptime: list[Uptime]  # over a day, over 30 days
    open_incidents: int


# The page ------------------------------------------------------------------------------------


async def _latest_probes(s: Any) -> dict[str, StatusProbe]:
    latest = {}
    for spec in SERVICES:
        row = await s.scalar(
            select(StatusProbe).where(StatusProbe.service == spec.key).order_by(StatusProbe.checked_at.desc()).limit(1)
        )
        if row is not None:
            latest[spec.key] = row
    return latest


async def _ratio(s: Any, since: datetime, until: datetime) -> float | None:
    total, passed = (
        await s.execute(
            select(func.count(), func.count().filter(StatusProbe.ok.is_(True))).where(
                StatusProbe.checked_at >= since, StatusProbe.checked_at < until
            )
        )
    ).one()
    return None if not total else 100.0 * (passed or 0) / total


def _overview(services: list[ServiceState]) -> tuple[str, str]:
    """The page's state and description."""
    down = [s.spec.name for s in services if s.status == "major_outage"]
    degraded = [s.spec.name for s in services if s.status == "degraded"]
    if down:
        state = "Major outage" if {"API", "Database"} & set(down) else "Partial outage"
        return state, f"Unavailable: {', '.join(down)}."
    if degraded:
        return "Degraded performance", f"Open incidents affect: {', '.join(degraded)}."
    return "All systems operational", "All services are responding normally."


async def platform_status(ctx: Context) -> StatusPage:
    now = datetime.now(UTC)
    async with ctx.platform_session() as s:
        latest = await _latest_probes(s)
        incidents = (
            await s.scalars(
                select(StatusIncident)
                .order_by(StatusIncident.occurred_at.desc(), StatusIncident.id)
                .limit(RECENT_INCIDENTS)
            )
        ).all()
        day, month = timedelta(days=1), timedelta(days=30)
        ratios = [
            await _ratio(s, now - day, now),
            await _ratio(s, now - 2 * day, now - day),
            await _ratio(s, now - month, now),
            await _ratio(s, now - 2 * month, now - month),
        ]
        # Every open incident degrades its service, however many newer ones the page lists.
        open_services = (
            await s.scalars(select(StatusIncident.service).where(StatusIncident.state != "resolved"))
        ).all()
    open_count = len(open_services)
    open_for = {service.lower() for service in open_services}
    services = []
    for spec in SERVICES:
        probe = latest.get(spec.key)
        names = {spec.key, spec.name.lower()}
        if probe is None:
            status = "unknown"
        elif not probe.ok:
            status = "major_outage"
        else:
            status = "degraded" if names & open_for else "operational"
        last = max((i.occurred_at for i in incidents if i.service.lower() in names), default=None)
        services.append(ServiceState(spec, status, last))
    state, description = _overview(services)
    updated_at = max((p.checked_at for p in latest.values()), default=now)
    uptime = [Uptime(1, ratios[0], ratios[1]), Uptime(30, ratios[2], ratios[3])]
    return StatusPage(now, state, description, updated_at, services, list(incidents), uptime, open_count)


async def status_rss(ctx: Context) -> str:
    page = await platform_status(ctx)
    base = ctx.settings.public_url.rstrip("/")
    feed = FeedGenerator()
    feed.title(ctx.settings.status_page_title)
    feed.link(href=f"{base}/status", rel="alternate")
    feed.description(page.description)
    feed.language("en")
    feed.lastBuildDate(page.generated_at)
    feed.pubDate(page.updated_at)
    for incident in page.incidents:
        entry = feed.add_entry(order="append")
        entry.title(f"{incident.service}: {incident.impact}")
        entry.link(href=f"{base}/status#incident-{incident.id}")
        entry.guid(str(incident.id), permalink=False)
        entry.pubDate(incident.occurred_at)
        entry.description(incident.impact)
        entry.category(term=incident.state)
    return feed.rss_str(pretty=False).decode()


async def status_changes(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """Changes as `probes.publish_change` publishes them: `kind` (service | incident), `service`,
    `status`, `at` (ISO 8601) and, for an incident, `incident_id` and `impact`."""
    async with ctx.bus.subscribe(CHANGES_CHANNEL) as messages:
        async for change in messages:
            yield change


# Incidents -----------------------------------------------------------------------------------


def _incident_filter(state: str | None, severity: str | None) -> list[Any]:
    where = []
    if state is not None:
        where.append(StatusIncident.state == state)
    if severity is not None:
        where.append(StatusIncident.severity == severity)
    return where


async def incidents_page(
    ctx: Context, offset: int, limit: int, state: str | None = None, severity: str | None = None
) -> Page[StatusIncident]:
    """Incidents newest first (public, like the page), optionally of one state and severity."""
    _validate(None, None, state, severity, prefix="filter")
    where = _incident_filter(state, severity)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(StatusIncident).where(*where)) or 0
        rows = (
            await s.scalars(
                select(StatusIncident)
                .where(*where)
                .order_by(StatusIncident.occurred_at.desc(), StatusIncident.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    return Page(list(rows), total)


async def incidents_by_ids(ctx: Context, ids: list[uuid.UUID]) -> list[StatusIncident | None]:
    """The incidents with these ids, in order; None for each one that does not exist."""
    if not ids:
        return []
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(StatusIncident).where(StatusIncident.id.in_(set(ids))))).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def get_incident(ctx: Context, incident_id: uuid.UUID) -> StatusIncident:
    row = (await incidents_by_ids(ctx, [incident_id]))[0]
    if row is None:
        raise NotFound("Incident not found.")
    return row


def _validate(
    service: str | None,
    impact: str | None,
    state: str | None = None,
    severity: str | None = None,
    prefix: str = "input",
) -> None:
    """Service and impact lengths; state and severity must be among STATES and SEVERITIES (the
    GraphQL enums check this too, but the CLI and any other caller pass plain strings)."""
    problems = []
    if service is not None and not 1 <= len(service.strip()) <= 64:
        problems.append({"field": "input.service", "message": "Service must be 1-64 characters."})
    if impact is not None and not 1 <= len(impact.strip()) <= 500:
        problems.append({"field": "input.impact", "message": "Impact must be 1-500 characters."})
    if state is not None and state not in STATES:
        problems.append({"field": f"{prefix}.state", "message": f"State must be one of: {', '.join(STATES)}."})
    if severity is not None and severity not in SEVERITIES:
        problems.append(
            {"field": f"{prefix}.severity", "message": f"Severity must be one of: {', '.join(SEVERITIES)}."}
        )
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def _announce(ctx: Context, row: StatusIncident) -> None:
    await publish_change(
        ctx.services,
        {
            "kind": "incident",
            "service": row.service,
            "status": row.state,
            "incident_id": str(row.id),
            "impact": row.impact,
            "at": row.updated_at.isoformat(),
        },
    )
    await subs.dispatch(ctx.services, row, row.severity)


async def open_incident(
    ctx: Context, service: str, impact: str, severity: str, state: str, occurred_at: datetime | None = None
) -> StatusIncident:
    require_status_manager(ctx)
    _validate(service, impact, state, severity)
    now = datetime.now(UTC)
    row = StatusIncident(
        service=service.strip(),
        impact=impact.strip(),
        severity=severity,
        state=state,
        occurred_at=occurred_at or now,
        resolved_at=now if state == "resolved" else None,
        created_at=now,
        updated_at=now,
    )
    async with ctx.platform_session() as s:
        s.add(row)
        await s.commit()
    await _announce(ctx, row)
    return row


async def update_incident(
    ctx: Context, incident_id: uuid.UUID, impact: str | None, state: str | None, severity: str | None
) -> StatusIncident:
    require_status_manager(ctx)
    _validate(None, impact, state, severity)
    async with ctx.platform_session() as s:
        row = await s.get(StatusIncident, incident_id)
        if row is None:
            raise NotFound("Incident not found.")
        now = datetime.now(UTC)
        if impact is not None:
            row.impact = impact.strip()
        if severity is not None:
            row.severity = severity
        if state is not None:
            row.state = state
            row.resolved_at = now if state == "resolved" else None
        row.updated_at = now
        await s.commit()
    await _announce(ctx, row)
    return row


async def resolve_incident(ctx: Context, incident_id: uuid.UUID, impact: str | None) -> StatusIncident:
    return await update_incident(ctx, incident_id, impact, "resolved", None)
