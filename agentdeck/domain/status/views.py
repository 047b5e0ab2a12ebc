"""What the status page answers with: services, incidents, uptime and changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentdeck.db.models.status import StatusIncident


@dataclass
class Overview:
    state: str
    description: str
    updated_at: datetime


@dataclass
class ServiceStatus:
    name: str
    status: str  # operational | degraded | major_outage | unknown
    description: str
    owner: str
    last_incident_at: datetime | None


@dataclass
class Incident:
    incident_id: str
    service: str
    occurred_at: datetime
    impact: str
    state: str
    severity: str
    resolved_at: datetime | None


@dataclass
class UptimeMetric:
    label: str
    value: str
    helper_text: str
    trend_value: str
    trend_tone: str  # positive | negative | neutral


@dataclass
class PlatformStatus:
    generated_at: datetime
    overview: Overview
    services: list[ServiceStatus]
    incidents: list[Incident]
    uptime_metrics: list[UptimeMetric]


@dataclass
class StatusChange:
    kind: str  # service | incident
    service: str
    status: str
    incident_id: str | None
    impact: str | None
    at: datetime


def incident_view(row: StatusIncident) -> Incident:
    return Incident(str(row.id), row.service, row.occurred_at, row.impact, row.state, row.severity, row.resolved_at)
