"""Status page, incidents and alert subscriptions: GraphQL fields (REST rows run these)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.domain.status import page as r
from agentdeck.domain.status import subscriptions as subs
from agentdeck.schema.permissions import Authenticated, OptionalBearer, allow


@strawberry.enum
class IncidentSeverity(enum.Enum):
    major = "major"
    minor = "minor"
    maintenance = "maintenance"


@strawberry.enum
class IncidentState(enum.Enum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


@strawberry.enum
class SubscriptionChannel(enum.Enum):
    email = "email"
    webhook = "webhook"


@strawberry.enum
class SeverityFilter(enum.Enum):
    all = "all"
    major = "major"
    maintenance = "maintenance"


@strawberry.type
class StatusOverview:
    state: str
    description: str
    updated_at: datetime


@strawberry.type(description="A service and the result of its latest health probe.")
class ServiceStatus:
    name: str
    status: str = strawberry.field(description="operational | degraded | major_outage | unknown")
    description: str
    owner: str
    last_incident_at: datetime | None


@strawberry.type
class StatusIncident:
    incident_id: str
    service: str
    occurred_at: datetime
    impact: str
    state: str
    severity: str
    resolved_at: datetime | None


@strawberry.type
class UptimeMetric:
    label: str
    value: str
    helper_text: str
    trend_value: str
    trend_tone: str


@strawberry.type(description="The live status page: probes, incidents and uptime from the probe history.")
class PlatformStatus:
    generated_at: datetime
    overview: StatusOverview
    services: list[ServiceStatus]
    incidents: list[StatusIncident]
    uptime_metrics: list[UptimeMetric]


@strawberry.type(description="A service changed state, or an incident was opened, updated or resolved.")
class StatusChange:
    kind: str
    service: str
    status: str
    incident_id: str | None
    impact: str | None
    at: datetime


@strawberry.type
class StatusSubscription:
    id: uuid.UUID
    channel: str
    severity_filter: str
    status: str
    target_masked: str
    tenant_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    webhook_secret: str | None = strawberry.field(description="Signing secret; returned on creation only.")


@strawberry.type
class StatusSubscriptionList:
    items: list[StatusSubscription]
    next_cursor: str | None


@strawberry.type
class StatusIncidentResend:
    dispatched: int


@strawberry.input
class StatusSubscriptionInput:
    channel: SubscriptionChannel
    target: str
    severity_filter: SeverityFilter | None = SeverityFilter.major
    metadata: JSON | None = None


@strawberry.input
class StatusTokenInput:
    token: str


@strawberry.input
class StatusIncidentResendInput:
    severity: SeverityFilter = SeverityFilter.major
    tenant_id: uuid.UUID | None = None


@strawberry.input
class StatusIncidentInput:
    service: str
    impact: str
    severity: IncidentSeverity = IncidentSeverity.major
    state: IncidentState = IncidentState.investigating


@strawberry.input
class StatusIncidentUpdateInput:
    impact: str | None = None
    state: IncidentState | None = None
    severity: IncidentSeverity | None = None


def _v(member: enum.Enum | None) -> str | None:
    return member.value if member is not None else None


@strawberry.type
class Query:
    @strawberry.field(description="The live platform status page (public).")
    async def platform_status(self, info: strawberry.Info) -> PlatformStatus:
        return await r.platform_status(info.context)  # type: ignore[return-value]

    @strawberry.field(description="The incident feed as an RSS 2.0 document (public).")
    async def platform_status_rss(self, info: strawberry.Info) -> str:
        return await r.status_rss(info.context)

    @strawberry.field(extensions=allow(Authenticated()),
                      description="Alert subscriptions (status:manage or operators); `cursor` is an offset.")
    async def status_subscriptions(self, info: strawberry.Info, limit: int = 20, cursor: str | None = None,
                                   tenant_id: uuid.UUID | None = None, all: bool = False) -> StatusSubscriptionList:
        return await subs.list_subscriptions(info.context, limit, cursor, tenant_id, all)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=allow(OptionalBearer()),
                         description="Subscribe to incident alerts; webhooks need status:manage.")
    async def create_status_subscription(self, info: strawberry.Info, input: StatusSubscriptionInput) -> StatusSubscription:
        return await subs.create(  # type: ignore[return-value]
            info.context, input.channel.value, input.target, _v(input.severity_filter) or "major", input.metadata)

    @strawberry.mutation(description="Activate an email subscription with its mailed token.")
    async def verify_status_subscription(self, info: strawberry.Info, input: StatusTokenInput) -> StatusSubscription:
        return await subs.verify(info.context, input.token)  # type: ignore[return-value]

    @strawberry.mutation(description="Activate a webhook subscription with the challenge it received.")
    async def confirm_status_subscription_challenge(self, info: strawberry.Info,
                                                    input: StatusTokenInput) -> StatusSubscription:
        return await subs.confirm_challenge(info.context, input.token)  # type: ignore[return-value]

    @strawberry.mutation(extensions=allow(OptionalBearer()),
                         description="Unsubscribe with the mailed token, or as a status manager.")
    async def revoke_status_subscription(self, info: strawberry.Info, subscription_id: uuid.UUID,
                                         token: str | None = None) -> StatusSubscription:
        return await subs.revoke(info.context, subscription_id, token)  # type: ignore[return-value]

    @strawberry.mutation(extensions=allow(Authenticated()),
                         description="Send an incident to matching subscribers again.")
    async def resend_status_incident(self, info: strawberry.Info, incident_id: uuid.UUID,
                                     input: StatusIncidentResendInput | None = None) -> StatusIncidentResend:
        i = input or StatusIncidentResendInput()
        return await subs.resend(info.context, incident_id, i.severity.value, i.tenant_id)  # type: ignore[return-value]

    @strawberry.mutation(description="Open an incident (operators or status:manage); notifies subscribers.")
    async def open_status_incident(self, info: strawberry.Info, input: StatusIncidentInput) -> StatusIncident:
        return await r.open_incident(  # type: ignore[return-value]
            info.context, input.service, input.impact, input.severity.value, input.state.value)

    @strawberry.mutation(description="Update an incident's impact, state or severity; notifies subscribers.")
    async def update_status_incident(self, info: strawberry.Info, incident_id: uuid.UUID,
                                     input: StatusIncidentUpdateInput) -> StatusIncident:
        return await r.update_incident(  # type: ignore[return-value]
            info.context, incident_id, input.impact, _v(input.state), _v(input.severity))

    @strawberry.mutation(description="Resolve an incident; notifies subscribers.")
    async def resolve_status_incident(self, info: strawberry.Info, incident_id: uuid.UUID,
                                      impact: str | None = None) -> StatusIncident:
        return await r.resolve_incident(info.context, incident_id, impact)  # type: ignore[return-value]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Service state changes and incident updates, as they happen (public).")
    async def status_changes(self, info: strawberry.Info) -> AsyncGenerator[StatusChange, None]:
        async for change in r.status_changes(info.context):
            yield change  # type: ignore[misc]
