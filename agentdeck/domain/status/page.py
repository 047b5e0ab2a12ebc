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
from datetime import UTC, datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy import func, select

from agentdeck.context import Context
from agentdeck.db.models.status import StatusIncident, StatusProbe
from agentdeck.domain.status import subscriptions as subs
from agentdeck.domain.status.probes import CHANGES_CHANNEL, SERVICES, publish_change
from agentdeck.domain.status.subscriptions import require_status_manager
from agentdeck.domain.status.views import (
    Incident,
    Overview,
    PlatformStatus,
    ServiceStatus,
    StatusChange,
    UptimeMetric,
    incident_view,
)
from agentdeck.errors import InvalidInput, NotFound

RECENT_INCIDENTS = 20
SEVERITIES = ("major", "minor", "maintenance")
STATES = ("investigating", "identified", "monitoring", "resolved")



# The page ------------------------------------------------------------------------------------

async def _latest_probes(s: Any) -> dict[str, StatusProbe]:
    latest = {}
    for spec in SERVICES:
        row = await s.scalar(select(StatusProbe).where(StatusProbe.service == spec.key)
                             .order_by(StatusProbe.checked_at.desc()).limit(1))
        if row is not None:
            latest[spec.key] = row
    return latest


async def _ratio(s: Any, since: datetime, until: datetime) -> float | None:
    total, passed = (await s.execute(
        select(func.count(), func.count().filter(StatusProbe.ok.is_(True)))
        .where(StatusProbe.checked_at >= since, StatusProbe.checked_at < until)
    )).one()
    return None if not total else 100.0 * (passed or 0) / total


def _uptime(label: str, days: int, now_pct: float | None, before_pct: float | None) -> UptimeMetric:
    helper = f"Health probes passed across all services in the last {days * 24 if days == 1 else days} " + (
        "hours" if days == 1 else "days")
    if now_pct is None:
        return UptimeMetric(label, "n/a", helper + " (no probes yet)", "n/a", "neutral")
    if before_pct is None:
        trend, tone = "new", "neutral"
    else:
        delta = now_pct - before_pct
        trend = f"{delta:+.2f}%"
        tone = "positive" if delta > 0.005 else "negative" if delta < -0.005 else "neutral"
    return UptimeMetric(label, f"{now_pct:.2f}%", helper, trend, tone)


def _overview(services: list[ServiceStatus], updated_at: datetime) -> Overview:
    down = [s.name for s in services if s.status == "major_outage"]
    degraded = [s.name for s in services if s.status == "degraded"]
    if down:
        state = "Major outage" if {"API", "Database"} & set(down) else "Partial outage"
        return Overview(state, f"Unavailable: {', '.join(down)}.", updated_at)
    if degraded:
        return Overview("Degraded performance", f"Open incidents affect: {', '.join(degraded)}.", updated_at)
    return Overview("All systems operational", "All services are responding normally.", updated_at)


async def platform_status(ctx: Context) -> PlatformStatus:
    now = datetime.now(UTC)
    async with ctx.platform_session() as s:
        latest = await _latest_probes(s)
        incidents = (await s.scalars(select(StatusIncident).order_by(StatusIncident.occurred_at.desc(),
                                                                     StatusIncident.id).limit(RECENT_INCIDENTS))).all()
        day, month = timedelta(days=1), timedelta(days=30)
        ratios = [await _ratio(s, now - day, now), await _ratio(s, now - 2 * day, now - day),
                  await _ratio(s, now - month, now), await _ratio(s, now - 2 * month, now - month)]
        open_count = await s.scalar(select(func.count()).select_from(StatusIncident)
                                    .where(StatusIncident.state != "resolved")) or 0
    open_for = {i.service.lower() for i in incidents if i.state != "resolved"}
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
        services.append(ServiceStatus(spec.name, status, spec.description, spec.owner, last))
    updated_at = max((p.checked_at for p in latest.values()), default=now)
    metrics = [
        _uptime("Uptime (24 hours)", 1, ratios[0], ratios[1]),
        _uptime("Uptime (30 days)", 30, ratios[2], ratios[3]),
        UptimeMetric("Open incidents", str(open_count), "Incidents not yet resolved",
                     f"{len(incidents)} recent", "negative" if open_count else "neutral"),
    ]
    return PlatformStatus(now, _overview(services, updated_at), services, [incident_view(i) for i in incidents],
                          metrics)


async def status_rss(ctx: Context) -> str:
    page = await platform_status(ctx)
    base = ctx.settings.public_url.rstrip("/")
    feed = FeedGenerator()
    feed.title(ctx.settings.status_page_title)
    feed.link(href=f"{base}/status", rel="alternate")
    feed.description(page.overview.description)
    feed.language("en")
    feed.lastBuildDate(page.generated_at)
    feed.pubDate(page.overview.updated_at)
    for incident in page.incidents:
        entry = feed.add_entry(order="append")
        entry.title(f"{incident.service}: {incident.impact}")
        entry.link(href=f"{base}/status#incident-{incident.incident_id}")
        entry.guid(incident.incident_id, permalink=False)
        entry.pubDate(incident.occurred_at)
        entry.description(incident.impact)
        entry.category(term=incident.state)
    return feed.rss_str(pretty=False).decode()


async def status_changes(ctx: Context) -> AsyncIterator[StatusChange]:
    async with ctx.bus.subscribe(CHANGES_CHANNEL) as messages:
        async for raw in messages:
            yield StatusChange(raw["kind"], raw["service"], raw["status"], raw.get("incident_id"),
                               raw.get("impact"), datetime.fromisoformat(raw["at"]))


# Incidents -----------------------------------------------------------------------------------

def _validate(service: str | None, impact: str | None) -> None:
    problems = []
    if service is not None and not 1 <= len(service.strip()) <= 64:
        problems.append({"field": "input.service", "message": "Service must be 1-64 characters."})
    if impact is not None and not 1 <= len(impact.strip()) <= 500:
        problems.append({"field": "input.impact", "message": "Impact must be 1-500 characters."})
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def _announce(ctx: Context, row: StatusIncident) -> None:
    view = incident_view(row)
    await publish_change(ctx.services, {"kind": "incident", "service": row.service, "status": row.state,
                                        "incident_id": view.incident_id, "impact": row.impact,
                                        "at": row.updated_at.isoformat()})
    await subs.dispatch(ctx.services, view, row.severity)


async def open_incident(ctx: Context, service: str, impact: str, severity: str, state: str,
                        occurred_at: datetime | None = None) -> Incident:
    require_status_manager(ctx)
    _validate(service, impact)
    now = datetime.now(UTC)
    row = StatusIncident(service=service.strip(), impact=impact.strip(), severity=severity, state=state,
                         occurred_at=occurred_at or now, resolved_at=now if state == "resolved" else None,
                         created_at=now, updated_at=now)
    async with ctx.platform_session() as s:
        s.add(row)
        await s.commit()
    await _announce(ctx, row)
    return incident_view(row)


async def update_incident(ctx: Context, incident_id: uuid.UUID, impact: str | None, state: str | None,
                          severity: str | None) -> Incident:
    require_status_manager(ctx)
    _validate(None, impact)
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
    return incident_view(row)


async def resolve_incident(ctx: Context, incident_id: uuid.UUID, impact: str | None) -> Incident:
    return await update_incident(ctx, incident_id, impact, "resolved", None)
