"""Status page, incidents and alert subscriptions: GraphQL fields (REST rows run these)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from agentdeck.db.models.status import StatusIncident as IncidentRow
from agentdeck.db.models.status import StatusSubscription as SubscriptionRow
from agentdeck.domain.common.results import CursorPage
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

    @classmethod
    def from_state(cls, service: r.ServiceState) -> ServiceStatus:
        spec = service.spec
        return cls(
            name=spec.name,
            status=service.status,
            description=spec.description,
            owner=spec.owner,
            last_incident_at=service.last_incident_at,
        )


@strawberry.type
class StatusIncident:
    incident_id: str
    service: str
    occurred_at: datetime
    impact: str
    state: str
    severity: str
    resolved_at: datetime | None

    @classmethod
    def from_row(cls, row: IncidentRow) -> StatusIncident:
        return cls(
            incident_id=str(row.id),
            service=row.service,
            occurred_at=row.occurred_at,
            impact=row.impact,
            state=row.state,
            severity=row.severity,
            resolved_at=row.resolved_at,
        )


@strawberry.type
class UptimeMetric:
    label: str
    value: str
    helper_text: str
    trend_value: str
    trend_tone: str

    @classmethod
    def from_uptime(cls, uptime: r.Uptime) -> UptimeMetric:
        days = uptime.days
        label = "Uptime (24 hours)" if days == 1 else f"Uptime ({days} days)"
        helper = "Health probes passed across all services in the last " + ("24 hours" if days == 1 else f"{days} days")
        if uptime.now is None:
            return cls(
                label=label,
                value="n/a",
                helper_text=helper + " (no probes yet)",
                trend_value="n/a",
                trend_tone="neutral",
            )
        trend = "new" if uptime.change is None else f"{uptime.change:+.2f}%"
        return cls(
            label=label, value=f"{uptime.now:.2f}%", helper_text=helper, trend_value=trend, trend_tone=uptime.tone
        )

    @classmethod
    def open_incidents(cls, page: r.StatusPage) -> UptimeMetric:
        return cls(
            label="Open incidents",
            value=str(page.open_incidents),
            helper_text="Incidents not yet resolved",
            trend_value=f"{len(page.incidents)} recent",
            trend_tone="negative" if page.open_incidents else "neutral",
        )


@strawberry.type(description="The live status page: probes, incidents and uptime from the probe history.")
class PlatformStatus:
    generated_at: datetime
    overview: StatusOverview
    services: list[ServiceStatus]
    incidents: list[StatusIncident]
    uptime_metrics: list[UptimeMetric]

    @classmethod
    def from_page(cls, page: r.StatusPage) -> PlatformStatus:
        overview = StatusOverview(state=page.state, description=page.description, updated_at=page.updated_at)
        metrics = [*(UptimeMetric.from_uptime(u) for u in page.uptime), UptimeMetric.open_incidents(page)]
        return cls(
            generated_at=page.generated_at,
            overview=overview,
            services=[ServiceStatus.from_state(s) for s in page.services],
            incidents=[StatusIncident.from_row(i) for i in page.incidents],
            uptime_metrics=metrics,
        )


@strawberry.type(description="A service changed state, or an incident was opened, updated or resolved.")
class StatusChange:
    kind: str
    service: str
    status: str
    incident_id: str | None
    impact: str | None
    at: datetime

    @classmethod
    def from_message(cls, change: dict[str, Any]) -> StatusChange:
        """A change as the status monitor and the incident mutations publish it."""
        return cls(
            kind=change["kind"],
            service=change["service"],
            status=change["status"],
            incident_id=change.get("incident_id"),
            impact=change.get("impact"),
            at=datetime.fromisoformat(change["at"]),
        )


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

    @classmethod
    def from_row(cls, row: SubscriptionRow, *, with_secret: bool = False) -> StatusSubscription:
        """`with_secret`: the answer to the creation, the one place the webhook secret is shown."""
        return cls(
            id=row.id,
            channel=row.channel,
            severity_filter=row.severity_filter,
            status=row.status,
            target_masked=subs.masked_target(row),
            tenant_id=row.tenant_id,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            webhook_secret=row.webhook_secret if with_secret else None,
        )


@strawberry.type
class StatusSubscriptionList:
    items: list[StatusSubscription]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[SubscriptionRow]) -> StatusSubscriptionList:
        return cls(items=[StatusSubscription.from_row(row) for row in page.items], next_cursor=page.next_cursor)


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
        return PlatformStatus.from_page(await r.platform_status(info.context))

    @strawberry.field(description="The incident feed as an RSS 2.0 document (public).")
    async def platform_status_rss(self, info: strawberry.Info) -> str:
        return await r.status_rss(info.context)

    @strawberry.field(
        extensions=allow(Authenticated()),
        description="Alert subscriptions (status:manage or operators); `cursor` is an offset.",
    )
    async def status_subscriptions(
        self,
        info: strawberry.Info,
        limit: int = 20,
        cursor: str | None = None,
        tenant_id: uuid.UUID | None = None,
        all: bool = False,
    ) -> StatusSubscriptionList:
        return StatusSubscriptionList.from_page(
            await subs.list_subscriptions(info.context, limit, cursor, tenant_id, all)
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=allow(OptionalBearer()), description="Subscribe to incident alerts; webhooks need status:manage."
    )
    async def create_status_subscription(
        self, info: strawberry.Info, input: StatusSubscriptionInput
    ) -> StatusSubscription:
        row = await subs.create(
            info.context, input.channel.value, input.target, _v(input.severity_filter) or "major", input.metadata
        )
        return StatusSubscription.from_row(row, with_secret=True)

    @strawberry.mutation(description="Activate an email subscription with its mailed token.")
    async def verify_status_subscription(self, info: strawberry.Info, input: StatusTokenInput) -> StatusSubscription:
        return StatusSubscription.from_row(await subs.verify(info.context, input.token))

    @strawberry.mutation(description="Activate a webhook subscription with the challenge it received.")
    async def confirm_status_subscription_challenge(
        self, info: strawberry.Info, input: StatusTokenInput
    ) -> StatusSubscription:
        return StatusSubscription.from_row(await subs.confirm_challenge(info.context, input.token))

    @strawberry.mutation(
        extensions=allow(OptionalBearer()), description="Unsubscribe with the mailed token, or as a status manager."
    )
    async def revoke_status_subscription(
        self, info: strawberry.Info, subscription_id: uuid.UUID, token: str | None = None
    ) -> StatusSubscription:
        return StatusSubscription.from_row(await subs.revoke(info.context, subscription_id, token))

    @strawberry.mutation(
        extensions=allow(Authenticated()), description="Send an incident to matching subscribers again."
    )
    async def resend_status_incident(
        self, info: strawberry.Info, incident_id: uuid.UUID, input: StatusIncidentResendInput | None = None
    ) -> StatusIncidentResend:
        i = input or StatusIncidentResendInput()
        dispatched = await subs.resend(info.context, incident_id, i.severity.value, i.tenant_id)
        return StatusIncidentResend(dispatched=dispatched)

    @strawberry.mutation(description="Open an incident (operators or status:manage); notifies subscribers.")
    async def open_status_incident(self, info: strawberry.Info, input: StatusIncidentInput) -> StatusIncident:
        return StatusIncident.from_row(
            await r.open_incident(info.context, input.service, input.impact, input.severity.value, input.state.value)
        )

    @strawberry.mutation(description="Update an incident's impact, state or severity; notifies subscribers.")
    async def update_status_incident(
        self, info: strawberry.Info, incident_id: uuid.UUID, input: StatusIncidentUpdateInput
    ) -> StatusIncident:
        return StatusIncident.from_row(
            await r.update_incident(info.context, incident_id, input.impact, _v(input.state), _v(input.severity))
        )

    @strawberry.mutation(description="Resolve an incident; notifies subscribers.")
    async def resolve_status_incident(
        self, info: strawberry.Info, incident_id: uuid.UUID, impact: str | None = None
    ) -> StatusIncident:
        return StatusIncident.from_row(await r.resolve_incident(info.context, incident_id, impact))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Service state changes and incident updates, as they happen (public).")
    async def status_changes(self, info: strawberry.Info) -> AsyncGenerator[StatusChange, None]:
        async for change in r.status_changes(info.context):
            yield StatusChange.from_message(change)
