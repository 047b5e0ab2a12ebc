"""Status page, incidents and alert subscriptions.

The native graph (`Query`, `Mutation`, `Subscription`, below the legacy roots): the page with its
incidents as a connection of `Incident` nodes, alert subscriptions as `StatusSubscription` nodes,
mutations with payloads, typed change events. The legacy roots (`RestQuery`, `RestMutation`,
`RestSubscription`) keep the shapes the REST routes under /api/v1/status answer.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db.models.status import StatusIncident as IncidentRow
from agentdeck.db.models.status import StatusSubscription as SubscriptionRow
from agentdeck.domain.common.results import CursorPage
from agentdeck.domain.status import page as r
from agentdeck.domain.status import subscriptions as subs
from agentdeck.errors import DomainError, Forbidden, NotFound, Unauthenticated
from agentdeck.schema import graph
from agentdeck.schema.permissions import Authenticated, OptionalBearer, allow


@strawberry.enum(name="IncidentSeverity")
class RestIncidentSeverity(enum.Enum):
    major = "major"
    minor = "minor"
    maintenance = "maintenance"


@strawberry.enum(name="IncidentState")
class RestIncidentState(enum.Enum):
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
    severity: RestIncidentSeverity = RestIncidentSeverity.major
    state: RestIncidentState = RestIncidentState.investigating


@strawberry.input
class StatusIncidentUpdateInput:
    impact: str | None = None
    state: RestIncidentState | None = None
    severity: RestIncidentSeverity | None = None


def _v(member: enum.Enum | None) -> str | None:
    return member.value if member is not None else None


# -- the legacy roots: the REST face runs these -----------------------------------------------


@strawberry.type
class RestQuery:
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
class RestMutation:
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
class RestSubscription:
    @strawberry.subscription(description="Service state changes and incident updates, as they happen (public).")
    async def status_changes(self, info: strawberry.Info) -> AsyncGenerator[StatusChange, None]:
        async for change in r.status_changes(info.context):
            yield StatusChange.from_message(change)


# -- the native graph ---------------------------------------------------------------------------

USER_ERRORS = "The mistakes that kept the mutation from taking effect; empty when it did."


P = TypeVar("P")
R = TypeVar("R")


async def user_errors_of(make: Callable[..., P], action: Awaitable[dict[str, Any]], missing: str | None = None) -> P:
    """`graph.payload` for this context's error details (see `user_errors`); a NotFound that
    names no field is put at `missing` (the input's id) when given. Toolkit gap: the toolkit
    reads only `loc`-style details."""
    try:
        fields = await action
    except DomainError as error:
        code = graph.user_error_code(error)
        if code is None:
            raise
        if isinstance(error, NotFound) and missing and not error.details:
            return make(user_errors=[graph.UserError(field=["input", missing], message=error.message, code=code)])
        return make(user_errors=graph.UserError.from_domain(error, code))
    return make(user_errors=[], **fields)


def database_id(global_id: str, type_name: str, field: str = "input.id") -> uuid.UUID:
    """The UUID behind a global id of `type_name`; NotFound for anything else (ids are opaque)."""
    key = graph.node_uuid(global_id, type_name)
    if key is None:
        message = f"No {type_name} has this id."
        raise NotFound(message, details=[{"field": field, "message": message}])
    return key


async def _by_ids(
    read: Callable[[list[uuid.UUID]], Awaitable[list[R | None]]], ids: list[uuid.UUID | None]
) -> list[R | None]:
    """`read` for the well-formed ids; None in the places of the others."""
    valid = [i for i in ids if i is not None]
    found = dict(zip(valid, await read(valid), strict=True)) if valid else {}
    return [found.get(i) if i is not None else None for i in ids]


@strawberry.enum(description="How serious an incident is.")
class IncidentSeverity(enum.Enum):
    MAJOR = "major"
    MINOR = "minor"
    MAINTENANCE = "maintenance"


@strawberry.enum(description="Where an incident is in its life.")
class IncidentState(enum.Enum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


@strawberry.enum(description="How a service is doing, from its latest probe and the open incidents naming it.")
class ServiceCondition(enum.Enum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    MAJOR_OUTAGE = "major_outage"
    UNKNOWN = "unknown"


@strawberry.enum(description="How the platform is doing overall (`headline` says it in words).")
class PlatformCondition(enum.Enum):
    OPERATIONAL = "All systems operational"
    DEGRADED = "Degraded performance"
    PARTIAL_OUTAGE = "Partial outage"
    MAJOR_OUTAGE = "Major outage"


@strawberry.enum(description="Which way uptime moved against the period before.")
class UptimeTrend(enum.Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


@strawberry.enum(description="How an alert subscription is delivered.")
class StatusSubscriptionChannel(enum.Enum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@strawberry.enum(description="Where an alert subscription is in its life.")
class StatusSubscriptionStatus(enum.Enum):
    PENDING_VERIFICATION = "pending_verification"
    ACTIVE = "active"
    REVOKED = "revoked"


@strawberry.enum(description="Which incidents an alert subscription receives, by severity.")
class StatusAlertSeverity(enum.Enum):
    ALL = "all"
    MAJOR = "major"
    MAINTENANCE = "maintenance"


def _opt(member: enum.Enum | None) -> Any:
    return member.value if member is not None else None


@strawberry.type(name="Incident", description="An incident on the status page, opened by operators.")
class Incident(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The incident's id in the REST API and the RSS feed.")
    service: str = strawberry.field(description="The service it affects, as the operator named it.")
    impact: str = strawberry.field(description="What users notice.")
    severity: IncidentSeverity = strawberry.field(description="How serious it is.")
    state: IncidentState = strawberry.field(description="Where it is in its life.")
    occurred_at: datetime = strawberry.field(description="When it began.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved; null while open.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    updated_at: datetime = strawberry.field(description="When it was last updated (state, severity or impact).")

    @classmethod
    def from_row(cls, row: IncidentRow) -> Incident:
        return cls(
            key=str(row.id),
            database_id=row.id,
            service=row.service,
            impact=row.impact,
            severity=IncidentSeverity(row.severity),
            state=IncidentState(row.state),
            occurred_at=row.occurred_at,
            resolved_at=row.resolved_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Incident | None]:
        rows = await _by_ids(lambda ids: r.incidents_by_ids(info.context, ids), graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.type(name="StatusSubscription", description="A subscription to incident alerts, by mail or webhook.")
class StatusSubscriptionNode(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The subscription's id in the REST API.")
    channel: StatusSubscriptionChannel = strawberry.field(description="How alerts are delivered.")
    severity_filter: StatusAlertSeverity = strawberry.field(description="Which incidents it receives.")
    status: StatusSubscriptionStatus = strawberry.field(description="Pending until verified; revoked when ended.")
    target_masked: str = strawberry.field(description="The address or URL, enough to recognise it, not to read it.")
    created_by: str = strawberry.field(description="The user id (or `public`) that subscribed.")
    created_at: datetime = strawberry.field(description="When it was requested.")
    updated_at: datetime = strawberry.field(description="When its status last changed.")

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> StatusSubscriptionNode:
        return cls(
            key=str(row.id),
            database_id=row.id,
            channel=StatusSubscriptionChannel(row.channel),
            severity_filter=StatusAlertSeverity(row.severity_filter),
            status=StatusSubscriptionStatus(row.status),
            target_masked=subs.masked_target(row),
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[StatusSubscriptionNode | None]:
        ids = graph.uuids(node_ids)
        try:
            rows = await _by_ids(lambda keys: subs.subscriptions_by_ids(info.context, keys), ids)
        except (Unauthenticated, Forbidden):  # only status managers see subscriptions: none is found
            return [None for _ in ids]
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.type(description="A service on the status page and how it is doing.")
class StatusPageService:
    key: str = strawberry.field(description="The service's stable key (`api`, `database`, …).")
    name: str = strawberry.field(description="Its display name.")
    description: str = strawberry.field(description="What it is.")
    owner: str = strawberry.field(description="The team that runs it.")
    condition: ServiceCondition = strawberry.field(description="How it is doing.")
    last_incident_at: datetime | None = strawberry.field(
        description="When the newest of the page's recent incidents naming it began."
    )

    @classmethod
    def from_state(cls, service: r.ServiceState) -> StatusPageService:
        spec = service.spec
        return cls(
            key=spec.key,
            name=spec.name,
            description=spec.description,
            owner=spec.owner,
            condition=ServiceCondition(service.status),
            last_incident_at=service.last_incident_at,
        )


@strawberry.type(description="The share of health probes that passed across all services over a window of days.")
class UptimeWindow:
    days: int = strawberry.field(description="The window's length: the last `days` days.")
    percent: float | None = strawberry.field(description="Passed probes in percent; null without probes.")
    previous_percent: float | None = strawberry.field(description="The same for the `days` before the window.")
    change: float | None = strawberry.field(description="Percentage points gained (+) or lost since then.")
    trend: UptimeTrend = strawberry.field(description="NEUTRAL unless uptime moved by more than 0.005 points.")

    @classmethod
    def from_uptime(cls, uptime: r.Uptime) -> UptimeWindow:
        return cls(
            days=uptime.days,
            percent=uptime.now,
            previous_percent=uptime.before,
            change=uptime.change,
            trend=UptimeTrend(uptime.tone),
        )


@strawberry.input(description="Which incidents to list.")
class IncidentFilter:
    state: IncidentState | None = strawberry.field(default=None, description="Only incidents in this state.")
    severity: IncidentSeverity | None = strawberry.field(default=None, description="Only incidents of this severity.")


@strawberry.type(description="The live status page: probes, incidents and uptime from the probe history.")
class StatusPage:
    generated_at: datetime = strawberry.field(description="When this answer was computed.")
    condition: PlatformCondition = strawberry.field(description="How the platform is doing overall.")
    headline: str = strawberry.field(description="The overall condition in words.")
    description: str = strawberry.field(description="Which services are affected, in words.")
    updated_at: datetime = strawberry.field(description="When the newest probe ran.")
    open_incident_count: int = strawberry.field(description="Incidents not yet resolved.")
    services: graph.Connection[StatusPageService] = strawberry.field(description="Every monitored service.")
    uptime: graph.Connection[UptimeWindow] = strawberry.field(description="Uptime over the last day and 30 days.")

    @classmethod
    def from_page(cls, page: r.StatusPage) -> StatusPage:
        return cls(
            generated_at=page.generated_at,
            condition=PlatformCondition(page.state),
            headline=page.state,
            description=page.description,
            updated_at=page.updated_at,
            open_incident_count=page.open_incidents,
            services=graph.connection_of([StatusPageService.from_state(s) for s in page.services]),
            uptime=graph.connection_of([UptimeWindow.from_uptime(u) for u in page.uptime]),
        )

    @strawberry.field(description="Incidents, newest first.")
    async def incidents(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: IncidentFilter | None = None,
    ) -> graph.Connection[Incident]:
        f = filter or IncidentFilter()
        return await graph.paginate(
            lambda offset, limit: r.incidents_page(info.context, offset, limit, _opt(f.state), _opt(f.severity)),
            Incident.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.input(description="Which alert subscriptions to list.")
class StatusSubscriptionFilter:
    channel: StatusSubscriptionChannel | None = strawberry.field(default=None, description="Only this channel's.")
    status: StatusSubscriptionStatus | None = strawberry.field(default=None, description="Only those in this status.")


@strawberry.type(description="A service changed condition (its probe started failing or passing again).")
class ServiceConditionChanged:
    service_key: str = strawberry.field(description="The service's key (`api`, `database`, …).")
    condition: ServiceCondition = strawberry.field(description="OPERATIONAL or MAJOR_OUTAGE, from the probe.")
    error: str | None = strawberry.field(description="Why the probe failed; null when it passed.")
    at: datetime = strawberry.field(description="When the probe ran.")


@strawberry.type(description="An incident was opened, updated or resolved.")
class IncidentChanged:
    incident_key: strawberry.Private[str]
    service: str = strawberry.field(description="The service it affects.")
    state: IncidentState = strawberry.field(description="Its state after the change.")
    impact: str = strawberry.field(description="Its impact after the change.")
    at: datetime = strawberry.field(description="When it changed.")

    @strawberry.field(description="The incident as it is now; null if it no longer exists.")
    async def incident(self, info: strawberry.Info) -> Incident | None:
        ids = graph.uuids([self.incident_key])
        if ids[0] is None:
            return None

        async def batch(keys: list[uuid.UUID]) -> list[IncidentRow | None]:
            return await r.incidents_by_ids(info.context, keys)

        row = await graph.loader(info, "status.incidents", batch).load(ids[0])
        return Incident.from_row(row) if row is not None else None


StatusChangeEvent = Annotated[
    ServiceConditionChanged | IncidentChanged,
    strawberry.union("StatusChangeEvent", description="A change on the status page."),
]


def change_event(change: dict[str, Any]) -> ServiceConditionChanged | IncidentChanged:
    """A change as `domain/status/page.status_changes` yields it."""
    at = datetime.fromisoformat(change["at"])
    if change["kind"] == "incident":
        return IncidentChanged(
            incident_key=change["incident_id"],
            service=change["service"],
            state=IncidentState(change["status"]),
            impact=change.get("impact") or "",
            at=at,
        )
    return ServiceConditionChanged(
        service_key=change["service"], condition=ServiceCondition(change["status"]), error=change.get("impact"), at=at
    )


# Inputs and payloads of the mutations.


@strawberry.input(description="A new alert subscription.")
class CreateStatusSubscriptionInput:
    channel: StatusSubscriptionChannel = strawberry.field(description="WEBHOOK needs status:manage.")
    target: str = strawberry.field(description="An email address, or an https URL for a webhook.")
    severity_filter: StatusAlertSeverity = strawberry.field(
        default=StatusAlertSeverity.MAJOR, description="Which incidents to receive; MAJOR by default."
    )
    metadata: JSON | None = strawberry.field(default=None, description="Labels of yours: an object of at most 4 KiB.")


@strawberry.type(description="The result of `createStatusSubscription`.")
class CreateStatusSubscriptionPayload:
    status_subscription: StatusSubscriptionNode | None = strawberry.field(
        default=None, description="The subscription, pending until verified (by the mailed token or the challenge)."
    )
    webhook_secret: str | None = strawberry.field(
        default=None, description="The secret that signs a webhook's deliveries: shown in this answer only."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="The token mailed to the subscribed address.")
class VerifyStatusSubscriptionInput:
    token: str = strawberry.field(description="The `token` of the link in the confirmation mail.")


@strawberry.type(description="The result of `verifyStatusSubscription`.")
class VerifyStatusSubscriptionPayload:
    status_subscription: StatusSubscriptionNode | None = strawberry.field(
        default=None, description="The subscription now."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="The challenge POSTed to the webhook.")
class ConfirmStatusSubscriptionChallengeInput:
    challenge: str = strawberry.field(description="The `challenge` of the signed POST the webhook received.")


@strawberry.type(description="The result of `confirmStatusSubscriptionChallenge`.")
class ConfirmStatusSubscriptionChallengePayload:
    status_subscription: StatusSubscriptionNode | None = strawberry.field(
        default=None, description="The subscription now."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="The subscription to end.")
class RevokeStatusSubscriptionInput:
    id: strawberry.ID = strawberry.field(description="The subscription's global id.")
    unsubscribe_token: str | None = strawberry.field(
        default=None,
        description="The token from the confirmation mail; without it the caller must be a status manager.",
    )


@strawberry.type(description="The result of `revokeStatusSubscription`.")
class RevokeStatusSubscriptionPayload:
    status_subscription: StatusSubscriptionNode | None = strawberry.field(
        default=None, description="The subscription now."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="The incident to send again, and to whom.")
class ResendStatusIncidentInput:
    id: strawberry.ID = strawberry.field(description="The incident's global id.")
    severity: StatusAlertSeverity = strawberry.field(
        default=StatusAlertSeverity.MAJOR,
        description="Send to the subscriptions whose filter matches this (ALL: every active subscription).",
    )


@strawberry.type(description="The result of `resendStatusIncident`.")
class ResendStatusIncidentPayload:
    incident: Incident | None = strawberry.field(default=None, description="The incident sent.")
    dispatched_count: int | None = strawberry.field(default=None, description="How many subscriptions it went to.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="A new incident.")
class OpenStatusIncidentInput:
    service: str = strawberry.field(description="The affected service (1-64 characters), e.g. a service's name.")
    impact: str = strawberry.field(description="What users notice (1-500 characters).")
    severity: IncidentSeverity = strawberry.field(default=IncidentSeverity.MAJOR, description="MAJOR by default.")
    state: IncidentState = strawberry.field(
        default=IncidentState.INVESTIGATING, description="INVESTIGATING by default."
    )


@strawberry.input(description="What changes in an incident; omitted fields stay.")
class UpdateStatusIncidentInput:
    id: strawberry.ID = strawberry.field(description="The incident's global id.")
    impact: str | None = strawberry.field(default=None, description="What users notice now (1-500 characters).")
    state: IncidentState | None = strawberry.field(
        default=None, description="RESOLVED sets `resolvedAt`; any other clears it."
    )
    severity: IncidentSeverity | None = strawberry.field(default=None, description="The new severity.")


@strawberry.input(description="The incident to resolve.")
class ResolveStatusIncidentInput:
    id: strawberry.ID = strawberry.field(description="The incident's global id.")
    impact: str | None = strawberry.field(default=None, description="A closing impact text, if it changed.")


@strawberry.type(description="The result of `openStatusIncident`.")
class OpenStatusIncidentPayload:
    incident: Incident | None = strawberry.field(default=None, description="The incident now.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="The result of `updateStatusIncident`.")
class UpdateStatusIncidentPayload:
    incident: Incident | None = strawberry.field(default=None, description="The incident now.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="The result of `resolveStatusIncident`.")
class ResolveStatusIncidentPayload:
    incident: Incident | None = strawberry.field(default=None, description="The incident now.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


INCIDENT, SUBSCRIPTION = "Incident", "StatusSubscription"


async def subscription_page(
    info: strawberry.Info,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: StatusSubscriptionFilter | None,
    *,
    all_tenants: bool,
) -> graph.Connection[StatusSubscriptionNode]:
    f = filter or StatusSubscriptionFilter()
    return await graph.paginate(
        lambda offset, limit: subs.subscriptions_page(
            info.context, offset, limit, _opt(f.channel), _opt(f.status), all_tenants
        ),
        StatusSubscriptionNode.from_row,
        first=first,
        after=after,
        last=last,
        before=before,
    )


@strawberry.type
class Query:
    @strawberry.field(description="The live platform status page (public).")
    async def platform_status(self, info: strawberry.Info) -> StatusPage:
        return StatusPage.from_page(await r.platform_status(info.context))

    @strawberry.field(description="The incident feed as an RSS 2.0 document (public).")
    async def platform_status_rss(self, info: strawberry.Info) -> str:
        return await r.status_rss(info.context)

    @strawberry.field(description="The incident with this id (public); null and NOT_FOUND when there is none.")
    async def incident(self, info: strawberry.Info, id: strawberry.ID) -> Incident | None:
        return Incident.from_row(await r.get_incident(info.context, database_id(id, INCIDENT, "id")))

    @strawberry.field(
        extensions=allow(Authenticated()),
        description="The alert subscriptions of the tenant the request acts in, newest first (status managers; "
        "`operator.statusSubscriptions` lists every tenant's).",
    )
    async def status_subscriptions(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: StatusSubscriptionFilter | None = None,
    ) -> graph.Connection[StatusSubscriptionNode]:
        return await subscription_page(info, first, after, last, before, filter, all_tenants=False)

    @strawberry.field(
        extensions=allow(Authenticated()),
        description="The alert subscription with this id (status managers; another tenant's is null and NOT_FOUND "
        "unless the caller is a platform operator).",
    )
    async def status_subscription(self, info: strawberry.Info, id: strawberry.ID) -> StatusSubscriptionNode | None:
        key = database_id(id, SUBSCRIPTION, "id")
        row = (await subs.subscriptions_by_ids(info.context, [key]))[0]
        if row is None:
            raise NotFound("Subscription not found.")
        return StatusSubscriptionNode.from_row(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=allow(OptionalBearer()),
        description="Subscribe to incident alerts (anyone, by mail; webhooks need status:manage). The subscription "
        "stays pending until verified.",
    )
    async def create_status_subscription(
        self, info: strawberry.Info, input: CreateStatusSubscriptionInput
    ) -> CreateStatusSubscriptionPayload:
        async def action() -> dict[str, Any]:
            row = await subs.create(
                info.context, input.channel.value, input.target, input.severity_filter.value, input.metadata
            )
            return {"status_subscription": StatusSubscriptionNode.from_row(row), "webhook_secret": row.webhook_secret}

        return await user_errors_of(CreateStatusSubscriptionPayload, action())

    @strawberry.mutation(description="Activate an email subscription with its mailed token.")
    async def verify_status_subscription(
        self, info: strawberry.Info, input: VerifyStatusSubscriptionInput
    ) -> VerifyStatusSubscriptionPayload:
        async def action() -> dict[str, Any]:
            row = await subs.verify(info.context, input.token)
            return {"status_subscription": StatusSubscriptionNode.from_row(row)}

        return await user_errors_of(VerifyStatusSubscriptionPayload, action())

    @strawberry.mutation(description="Activate a webhook subscription with the challenge it received.")
    async def confirm_status_subscription_challenge(
        self, info: strawberry.Info, input: ConfirmStatusSubscriptionChallengeInput
    ) -> ConfirmStatusSubscriptionChallengePayload:
        async def action() -> dict[str, Any]:
            row = await subs.confirm_challenge(info.context, input.challenge)
            return {"status_subscription": StatusSubscriptionNode.from_row(row)}

        return await user_errors_of(ConfirmStatusSubscriptionChallengePayload, action())

    @strawberry.mutation(
        extensions=allow(OptionalBearer()),
        description="Unsubscribe with the mailed unsubscribe token, or as a status manager.",
    )
    async def revoke_status_subscription(
        self, info: strawberry.Info, input: RevokeStatusSubscriptionInput
    ) -> RevokeStatusSubscriptionPayload:
        async def action() -> dict[str, Any]:
            key = database_id(input.id, SUBSCRIPTION)
            row = await subs.revoke(info.context, key, input.unsubscribe_token, tenant_scoped=True)
            return {"status_subscription": StatusSubscriptionNode.from_row(row)}

        return await user_errors_of(RevokeStatusSubscriptionPayload, action(), missing="id")

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Send an incident to the matching active subscriptions again (status managers).",
    )
    async def resend_status_incident(
        self, info: strawberry.Info, input: ResendStatusIncidentInput
    ) -> ResendStatusIncidentPayload:
        async def action() -> dict[str, Any]:
            key = database_id(input.id, INCIDENT)
            dispatched = await subs.resend(info.context, key, input.severity.value, None)
            return {
                "incident": Incident.from_row(await r.get_incident(info.context, key)),
                "dispatched_count": dispatched,
            }

        return await user_errors_of(ResendStatusIncidentPayload, action(), missing="id")

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Open an incident (platform operators or status:manage); notifies subscribers.",
    )
    async def open_status_incident(
        self, info: strawberry.Info, input: OpenStatusIncidentInput
    ) -> OpenStatusIncidentPayload:
        async def action() -> dict[str, Any]:
            row = await r.open_incident(
                info.context, input.service, input.impact, input.severity.value, input.state.value
            )
            return {"incident": Incident.from_row(row)}

        return await user_errors_of(OpenStatusIncidentPayload, action())

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Change an incident's impact, state or severity (status managers); notifies subscribers.",
    )
    async def update_status_incident(
        self, info: strawberry.Info, input: UpdateStatusIncidentInput
    ) -> UpdateStatusIncidentPayload:
        async def action() -> dict[str, Any]:
            key = database_id(input.id, INCIDENT)
            row = await r.update_incident(info.context, key, input.impact, _opt(input.state), _opt(input.severity))
            return {"incident": Incident.from_row(row)}

        return await user_errors_of(UpdateStatusIncidentPayload, action(), missing="id")

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Resolve an incident (status managers); notifies subscribers.",
    )
    async def resolve_status_incident(
        self, info: strawberry.Info, input: ResolveStatusIncidentInput
    ) -> ResolveStatusIncidentPayload:
        async def action() -> dict[str, Any]:
            row = await r.resolve_incident(info.context, database_id(input.id, INCIDENT), input.impact)
            return {"incident": Incident.from_row(row)}

        return await user_errors_of(ResolveStatusIncidentPayload, action(), missing="id")


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Service condition changes and incident updates, as they happen (public).")
    async def status_changes(self, info: strawberry.Info) -> AsyncGenerator[StatusChangeEvent, None]:
        async for change in r.status_changes(info.context):
            yield change_event(change)
