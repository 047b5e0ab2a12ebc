from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db.models import BillingPlan as PlanRow
from agentdeck.db.models import StripeEvent as EventRow
from agentdeck.db.models import TenantSubscription as SubscriptionRow
from agentdeck.domain import billing as r
from agentdeck.domain.common.idempotency import KEY, Idempotency
from agentdeck.domain.common.results import CursorPage, Outcome, Page
from agentdeck.errors import InvalidInput, NotFound
from agentdeck.schema import graph
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow

# == The legacy shapes (the REST face) ===========================================================
# What the REST routes (`rest_compat/routes.py`) answer, byte for byte: reachable only from the
# `Rest*` roots, so absent from `schema.graphql`. The Python names say so; the GraphQL names are
# the ones the REST face has always had.


@strawberry.enum
class StripeEventStatus(enum.Enum):
    received = "received"
    processed = "processed"
    failed = "failed"


@strawberry.type(name="PlanFeature")
class RestPlanFeature:
    key: str
    display_name: str
    description: str | None
    hard_limit: int | None
    soft_limit: int | None
    is_metered: bool

    @classmethod
    def from_config(cls, feature: dict[str, Any]) -> RestPlanFeature:
        """A feature as `billing_plans.json` configures it."""
        return cls(
            key=feature["key"],
            display_name=feature["display_name"],
            description=feature.get("description"),
            hard_limit=feature.get("hard_limit"),
            soft_limit=feature.get("soft_limit"),
            is_metered=feature.get("is_metered", False),
        )


@strawberry.type(name="BillingPlan", description="A billing plan; prices are integer cents.")
class RestBillingPlan:
    code: str
    name: str
    interval: str
    interval_count: int
    price_cents: int
    currency: str
    trial_days: int | None
    seat_included: int | None
    feature_toggles: JSON
    is_active: bool
    features: list[RestPlanFeature]

    @classmethod
    def from_row(cls, row: PlanRow) -> RestBillingPlan:
        return cls(
            code=row.code,
            name=row.name,
            interval=row.interval,
            interval_count=row.interval_count,
            price_cents=row.price_cents,
            currency=row.currency,
            trial_days=row.trial_days,
            seat_included=row.seat_included,
            feature_toggles=JSON(dict(row.feature_toggles)),
            is_active=row.is_active,
            features=[RestPlanFeature.from_config(f) for f in row.features],
        )


@strawberry.type(name="TenantSubscription")
class RestTenantSubscription:
    tenant_id: str
    plan_code: str
    status: str
    auto_renew: bool
    billing_email: str | None
    starts_at: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_ends_at: datetime | None
    cancel_at: datetime | None
    seat_count: int | None
    pending_plan_code: str | None
    pending_plan_effective_at: datetime | None
    pending_seat_count: int | None
    metadata: JSON

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> RestTenantSubscription:
        return cls(
            tenant_id=str(row.tenant_id),
            plan_code=row.plan_code,
            status=row.status,
            auto_renew=row.auto_renew,
            billing_email=row.billing_email,
            starts_at=row.starts_at,
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            trial_ends_at=row.trial_ends_at,
            cancel_at=row.cancel_at,
            seat_count=row.seat_count,
            pending_plan_code=row.pending_plan_code,
            pending_plan_effective_at=row.pending_plan_effective_at,
            pending_seat_count=row.pending_seat_count,
            metadata=JSON(dict(row.metadata_ or {})),
        )


@strawberry.type(name="BillingEventSubscription")
class RestBillingEventSubscription:
    plan_code: str
    status: str
    seat_count: int | None
    auto_renew: bool
    current_period_start: str | None
    current_period_end: str | None
    trial_ends_at: str | None
    cancel_at: str | None


@strawberry.type(name="BillingEventInvoice")
class RestBillingEventInvoice:
    invoice_id: str
    status: str
    amount_due_cents: int
    currency: str
    billing_reason: str | None
    hosted_invoice_url: str | None
    collection_method: str | None
    period_start: str | None
    period_end: str | None


@strawberry.type(name="BillingEventUsage")
class RestBillingEventUsage:
    feature_key: str
    quantity: int
    period_start: str | None
    period_end: str | None
    amount_cents: int | None

    @classmethod
    def from_event(cls, usage: dict[str, Any]) -> RestBillingEventUsage:
        return cls(
            feature_key=usage["feature_key"],
            quantity=usage["quantity"],
            period_start=usage.get("period_start"),
            period_end=usage.get("period_end"),
            amount_cents=usage.get("amount_cents"),
        )


@strawberry.type(name="BillingEvent", description="A payment event as recorded; times are ISO strings with +00:00.")
class RestBillingEvent:
    tenant_id: str
    event_type: str
    stripe_event_id: str
    occurred_at: str
    summary: str | None
    status: str
    subscription: RestBillingEventSubscription | None
    invoice: RestBillingEventInvoice | None
    usage: list[RestBillingEventUsage]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RestBillingEvent:
        """An event in the documented shape billing stores and streams (`stripe_objects.normalize`)."""
        subscription, invoice = event.get("subscription"), event.get("invoice")
        return cls(
            tenant_id=event["tenant_id"],
            event_type=event["event_type"],
            stripe_event_id=event["stripe_event_id"],
            occurred_at=event["occurred_at"],
            summary=event.get("summary"),
            status=event["status"],
            subscription=RestBillingEventSubscription(**subscription) if subscription else None,
            invoice=RestBillingEventInvoice(**invoice) if invoice else None,
            usage=[RestBillingEventUsage.from_event(u) for u in event.get("usage") or ()],
        )


@strawberry.type(name="BillingEventHistory")
class RestBillingEventHistory:
    items: list[RestBillingEvent]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[dict[str, Any]]) -> RestBillingEventHistory:
        return cls(items=[RestBillingEvent.from_event(e) for e in page.items], next_cursor=page.next_cursor)


@strawberry.type(name="UsageRecorded", description="Usage accepted; `data` is always null.")
class RestUsageRecorded:
    message: str
    data: None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome[None]) -> RestUsageRecorded:
        return cls(message=outcome.message)


@strawberry.type(name="UsageTotal", description="Usage of one feature in the current billing period.")
class RestUsageTotal:
    feature_key: str
    quantity: int
    hard_limit: int | None
    soft_limit: int | None
    period_start: datetime
    period_end: datetime

    @classmethod
    def from_period(cls, usage: r.PeriodUsage) -> list[RestUsageTotal]:
        """One total per feature, with the plan's limits on it."""
        totals = []
        for key, used in usage.used.items():
            feature = usage.features.get(key, {})
            totals.append(
                cls(
                    feature_key=key,
                    quantity=used,
                    hard_limit=feature.get("hard_limit"),
                    soft_limit=feature.get("soft_limit"),
                    period_start=usage.start,
                    period_end=usage.end,
                )
            )
        return totals


@strawberry.input(name="StartSubscriptionInput")
class RestStartSubscriptionInput:
    plan_code: str
    billing_email: str | None = None
    auto_renew: bool = True
    seat_count: int | None = None


@strawberry.input(name="UpdateSubscriptionInput")
class RestUpdateSubscriptionInput:
    auto_renew: bool | None = None
    billing_email: str | None = None
    seat_count: int | None = None
    plan_code: str | None = strawberry.field(default=None, description="Change plan (agentdeck extension).")


@strawberry.input(name="CancelSubscriptionInput")
class RestCancelSubscriptionInput:
    cancel_at_period_end: bool = True


@strawberry.input(name="UsageRecordInput")
class RestUsageRecordInput:
    feature_key: str
    quantity: int
    idempotency_key: str | None = strawberry.field(
        default=None,
        metadata=limited(KEY),
        description="The request's idempotency key (legacy field): the same as `idempotencyKey` (REST "
        "`Idempotency-Key`); send either, or both with one value.",
    )
    period_start: datetime | None = None
    period_end: datetime | None = None


VIEWER, ADMIN = allow(TenantRole("viewer")), allow(TenantRole("admin"))


@strawberry.type
class UsageCounterView:
    """The legacy REST counter: a day of usage as a period of granularity `day`, counted for the
    whole tenant (no user)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    period_start: date
    granularity: str
    input_tokens: int
    output_tokens: int
    requests: int
    storage_bytes: int
    updated_at: datetime

    @classmethod
    def from_counter(cls, counter: r.UsageCounter) -> UsageCounterView:
        return cls(
            id=counter.id,
            tenant_id=counter.tenant_id,
            user_id=None,
            period_start=counter.day,
            granularity="day",
            input_tokens=counter.input_tokens,
            output_tokens=counter.output_tokens,
            requests=counter.requests,
            storage_bytes=counter.storage_bytes,
            updated_at=counter.updated_at,
        )


@strawberry.type
class RestQuery:
    @strawberry.field(description="Active billing plans (public).")
    async def billing_plans(self, info: strawberry.Info) -> list[RestBillingPlan]:
        return [RestBillingPlan.from_row(row) for row in await r.list_plans(info.context)]

    @strawberry.field(extensions=VIEWER, description="The tenant's subscription.")
    async def tenant_subscription(self, info: strawberry.Info, tenant_id: str) -> RestTenantSubscription:
        return RestTenantSubscription.from_row(await r.get_subscription(info.context, tenant_id))

    @strawberry.field(extensions=VIEWER, description="Payment events, newest first.")
    async def billing_event_history(
        self,
        info: strawberry.Info,
        tenant_id: str,
        limit: PageSize = 25,
        cursor: str | None = None,
        event_type: str | None = None,
        processing_status: StripeEventStatus | None = None,
    ) -> RestBillingEventHistory:
        status = processing_status.value if processing_status else None
        return RestBillingEventHistory.from_page(
            await r.event_history(info.context, tenant_id, limit, cursor, event_type, status)
        )

    @strawberry.field(extensions=VIEWER, description="Usage per feature in the current billing period.")
    async def usage_totals(self, info: strawberry.Info, tenant_id: str) -> list[RestUsageTotal]:
        return RestUsageTotal.from_period(await r.usage_totals(info.context, tenant_id))

    @strawberry.field(extensions=VIEWER, description="The tenant's daily usage counters, newest first.")
    async def usage_counters(self, info: strawberry.Info) -> list[UsageCounterView]:
        return [UsageCounterView.from_counter(c) for c in await r.usage_counters(info.context)]


@strawberry.type
class RestMutation:
    @strawberry.mutation(extensions=ADMIN, description="Start a subscription on a plan.")
    async def start_subscription(
        self,
        info: strawberry.Info,
        tenant_id: str,
        input: RestStartSubscriptionInput,
        idempotency_key: IdempotencyKey = None,
    ) -> RestTenantSubscription:
        return RestTenantSubscription.from_row(
            await r.start_subscription(
                info.context,
                tenant_id,
                input.plan_code,
                input.billing_email,
                input.auto_renew,
                input.seat_count,
                keyed(idempotency_key, tenant_id=tenant_id, input=input),
            )
        )

    @strawberry.mutation(extensions=ADMIN, description="Change seats, auto-renewal, billing email or plan.")
    async def update_subscription(
        self, info: strawberry.Info, tenant_id: str, input: RestUpdateSubscriptionInput
    ) -> RestTenantSubscription:
        return RestTenantSubscription.from_row(
            await r.update_subscription(
                info.context, tenant_id, input.auto_renew, input.billing_email, input.seat_count, input.plan_code
            )
        )

    @strawberry.mutation(extensions=ADMIN, description="Cancel now or at the end of the current period.")
    async def cancel_subscription(
        self, info: strawberry.Info, tenant_id: str, input: RestCancelSubscriptionInput
    ) -> RestTenantSubscription:
        return RestTenantSubscription.from_row(
            await r.cancel_subscription(info.context, tenant_id, input.cancel_at_period_end)
        )

    @strawberry.mutation(extensions=ADMIN, description="Record metered usage (once per idempotency key).")
    async def record_usage(
        self, info: strawberry.Info, tenant_id: str, input: RestUsageRecordInput, idempotency_key: IdempotencyKey = None
    ) -> RestUsageRecorded:
        guarded = replace(input, idempotency_key=None)  # the key, wherever it came, is not an input
        return RestUsageRecorded.from_outcome(
            await r.record_usage(
                info.context,
                tenant_id,
                input.feature_key,
                input.quantity,
                input.idempotency_key,
                input.period_start,
                input.period_end,
                keyed(idempotency_key, tenant_id=tenant_id, input=guarded),
            )
        )


@strawberry.type
class RestSubscription:
    @strawberry.subscription(extensions=VIEWER, description="The tenant's payment events as they are handled.")
    async def billing_events(self, info: strawberry.Info) -> AsyncGenerator[RestBillingEvent, None]:
        async for event in r.billing_stream(info.context):
            yield RestBillingEvent.from_event(event)


# == The native graph ============================================================================
# Plans, the caller's tenant's subscription (its usage and payment events beneath it), the four
# mutations with payloads, and the live events. The tenant is always the one the request acts in
# (the token's; for an operator, the one `X-Tenant-Id` names): no field takes a tenant id.


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def _plans(info: strawberry.Info, code: str) -> BillingPlan | None:
    """A plan by code through the request's plan loader (one query for a page of them)."""

    async def batch(codes: list[str]) -> list[BillingPlan | None]:
        rows = await r.plans_by_codes(info.context, codes)
        return [BillingPlan.from_row(row) if row is not None else None for row in rows]

    found: BillingPlan | None = await graph.loader(info, "billing.plans", batch).load(code)
    return found


@strawberry.enum(description="How often a plan bills (with `intervalCount`).")
class BillingInterval(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@strawberry.enum(description="A subscription's state, as the payment provider (Stripe) names it.")
class BillingSubscriptionStatus(enum.Enum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


@strawberry.enum(description="What became of a payment event here.")
class BillingEventProcessingStatus(enum.Enum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


@strawberry.enum(description="An invoice's state, as the payment provider names it.")
class BillingInvoiceStatus(enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"


@strawberry.enum(description="How an invoice is collected.")
class BillingCollectionMethod(enum.Enum):
    CHARGE_AUTOMATICALLY = "charge_automatically"
    SEND_INVOICE = "send_invoice"


@strawberry.type(description="A feature of a plan and its limits per billing period.")
class PlanFeature:
    key: str = strawberry.field(description="The feature's key, as usage is recorded under it.")
    display_name: str = strawberry.field(description="The feature's name for people.")
    description: str | None = strawberry.field(description="What the feature is, for people.")
    hard_limit: int | None = strawberry.field(description="Units per period beyond which use is refused; null: none.")
    soft_limit: int | None = strawberry.field(description="Units per period from which the tenant is warned.")
    is_metered: bool = strawberry.field(description="Whether use is reported to the payment provider.")

    @classmethod
    def from_config(cls, feature: dict[str, Any]) -> PlanFeature:
        return cls(
            key=feature["key"],
            display_name=feature["display_name"],
            description=feature.get("description"),
            hard_limit=feature.get("hard_limit"),
            soft_limit=feature.get("soft_limit"),
            is_metered=feature.get("is_metered", False),
        )


@strawberry.type(description="A billing plan. Prices are integer cents of `currency`.")
class BillingPlan(graph.Node):
    key: relay.NodeID[str]
    name: str = strawberry.field(description="The plan's name for people.")
    interval: BillingInterval = strawberry.field(description="The unit of a billing period.")
    interval_count: int = strawberry.field(description="How many intervals one billing period lasts.")
    price_cents: int = strawberry.field(description="The price of one period, in cents.")
    currency: str = strawberry.field(description="ISO 4217 code, lower case.")
    trial_days: int | None = strawberry.field(description="Days of free trial a new subscription starts with.")
    seats_included: int | None = strawberry.field(description="Seats a subscription has unless it asks for more.")
    feature_toggles: JSON = strawberry.field(description="Product features the plan switches on or off, by name.")
    is_active: bool = strawberry.field(description="False for a retired plan: kept by those on it, offered to no one.")
    feature_list: strawberry.Private[list[PlanFeature]]

    @strawberry.field(description="The plan's code, its key (e.g. `pro`).")
    def database_id(self) -> str:
        return self.key

    @strawberry.field(description="The plan's code (e.g. `pro`).")
    def code(self) -> str:
        return self.key

    @strawberry.field(description="The plan's features and their limits.")
    def features(self) -> graph.Connection[PlanFeature]:
        return graph.connection_of(self.feature_list)

    @classmethod
    def from_row(cls, row: PlanRow) -> BillingPlan:
        return cls(
            key=row.code,
            name=row.name,
            interval=BillingInterval(row.interval),
            interval_count=row.interval_count,
            price_cents=row.price_cents,
            currency=row.currency,
            trial_days=row.trial_days,
            seats_included=row.seat_included,
            feature_toggles=JSON(dict(row.feature_toggles)),
            is_active=row.is_active,
            feature_list=[PlanFeature.from_config(f) for f in row.features],
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BillingPlan | None]:
        rows = await r.plans_by_codes(info.context, list(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.type(description="Usage of one feature in the current billing period, against the plan's limits.")
class UsageTotal:
    feature_key: str = strawberry.field(description="The feature the usage is recorded under.")
    quantity: int = strawberry.field(description="Units used in the period.")
    hard_limit: int | None = strawberry.field(description="The plan's hard limit on the feature; null: none.")
    soft_limit: int | None = strawberry.field(description="The plan's soft limit on the feature; null: none.")
    period_start: datetime = strawberry.field(description="The start of the current billing period.")
    period_end: datetime = strawberry.field(description="The end of the current billing period (exclusive).")

    @classmethod
    def from_period(cls, usage: r.PeriodUsage) -> list[UsageTotal]:
        return [cls(**vars(total)) for total in RestUsageTotal.from_period(usage)]


async def _usage(info: strawberry.Info, tenant_id: uuid.UUID | None) -> graph.Connection[UsageTotal]:
    totals = UsageTotal.from_period(await r.usage_totals(info.context, str(tenant_id) if tenant_id else None))
    return graph.connection_of(totals)


@strawberry.type(description="The subscription as a payment event reported it.")
class BillingEventSubscription:
    plan_code: strawberry.Private[str]
    status: BillingSubscriptionStatus | None = strawberry.field(description="Null for a state this API does not know.")
    seat_count: int | None = strawberry.field(description="Seats subscribed.")
    auto_renew: bool = strawberry.field(description="False once cancelled at the end of the period.")
    current_period_start: datetime | None = strawberry.field(description="The start of the billing period.")
    current_period_end: datetime | None = strawberry.field(description="The end of the billing period.")
    trial_ends_at: datetime | None = strawberry.field(description="When the free trial ends.")
    cancel_at: datetime | None = strawberry.field(description="When it ends, once cancelled.")

    @strawberry.field(description="The plan the event names; null for a plan not configured here.")
    async def plan(self, info: strawberry.Info) -> BillingPlan | None:
        return await _plans(info, self.plan_code)

    @classmethod
    def from_part(cls, part: dict[str, Any]) -> BillingEventSubscription:
        return cls(
            plan_code=part["plan_code"],
            status=graph.known_member(BillingSubscriptionStatus, part.get("status")),
            seat_count=part.get("seat_count"),
            auto_renew=part["auto_renew"],
            current_period_start=_moment(part.get("current_period_start")),
            current_period_end=_moment(part.get("current_period_end")),
            trial_ends_at=_moment(part.get("trial_ends_at")),
            cancel_at=_moment(part.get("cancel_at")),
        )


@strawberry.type(description="The invoice a payment event is about. Amounts are integer cents of `currency`.")
class BillingInvoice:
    invoice_id: str = strawberry.field(description="The payment provider's id of the invoice.")
    status: BillingInvoiceStatus | None = strawberry.field(description="Null for a state this API does not know.")
    amount_due_cents: int = strawberry.field(description="What is due, in cents.")
    currency: str = strawberry.field(description="ISO 4217 code, lower case.")
    billing_reason: str | None = strawberry.field(description="Why the invoice was made, as the provider says.")
    hosted_invoice_url: str | None = strawberry.field(description="Where the customer can see and pay it.")
    collection_method: BillingCollectionMethod | None = strawberry.field(
        description="How it is collected; null for a method this API does not know."
    )
    period_start: datetime | None = strawberry.field(description="The start of the period it bills.")
    period_end: datetime | None = strawberry.field(description="The end of the period it bills.")

    @classmethod
    def from_part(cls, part: dict[str, Any]) -> BillingInvoice:
        return cls(
            invoice_id=part["invoice_id"],
            status=graph.known_member(BillingInvoiceStatus, part.get("status")),
            amount_due_cents=part["amount_due_cents"],
            currency=part["currency"],
            billing_reason=part.get("billing_reason"),
            hosted_invoice_url=part.get("hosted_invoice_url"),
            collection_method=graph.known_member(BillingCollectionMethod, part.get("collection_method")),
            period_start=_moment(part.get("period_start")),
            period_end=_moment(part.get("period_end")),
        )


@strawberry.type(description="Metered usage a payment event reports.")
class BillingEventUsage:
    feature_key: str = strawberry.field(description="The feature the usage is of.")
    quantity: int = strawberry.field(description="Units used.")
    period_start: datetime | None = strawberry.field(description="The start of the period the usage belongs to.")
    period_end: datetime | None = strawberry.field(description="The end of the period the usage belongs to.")
    amount_cents: int | None = strawberry.field(description="What the usage costs, in cents, when the provider says.")

    @classmethod
    def from_part(cls, part: dict[str, Any]) -> BillingEventUsage:
        return cls(
            feature_key=part["feature_key"],
            quantity=part["quantity"],
            period_start=_moment(part.get("period_start")),
            period_end=_moment(part.get("period_end")),
            amount_cents=part.get("amount_cents"),
        )


@strawberry.type(
    description="A payment event (from Stripe, or as the local provider records it) and how it was handled."
)
class BillingEvent(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The event's id here.")
    stripe_event_id: str = strawberry.field(description="The payment provider's id of the event.")
    type: str = strawberry.field(description="The provider's event type, e.g. `invoice.paid`.")
    occurred_at: datetime = strawberry.field(description="When the provider says it happened.")
    received_at: datetime = strawberry.field(description="When it reached this service.")
    processing_status: BillingEventProcessingStatus = strawberry.field(
        description="Whether it was handled (a failed one is retried)."
    )
    summary: str | None = strawberry.field(description="A line for people; for an event that failed, why.")
    subscription: BillingEventSubscription | None = strawberry.field(description="For a subscription event.")
    invoice: BillingInvoice | None = strawberry.field(description="For an invoice event.")
    usage_parts: strawberry.Private[list[BillingEventUsage]]

    @strawberry.field(description="Metered usage the event reports.")
    def usage(self) -> graph.Connection[BillingEventUsage]:
        return graph.connection_of(self.usage_parts)

    @classmethod
    def from_row(cls, row: EventRow) -> BillingEvent:
        doc = r.document(row)
        subscription, invoice = doc.get("subscription"), doc.get("invoice")
        return cls(
            key=str(row.id),
            database_id=row.id,
            stripe_event_id=row.stripe_event_id,
            type=row.event_type,
            occurred_at=row.stripe_created_at,
            received_at=row.received_at,
            processing_status=BillingEventProcessingStatus(row.processing_outcome),
            summary=doc.get("summary"),
            subscription=BillingEventSubscription.from_part(subscription) if subscription else None,
            invoice=BillingInvoice.from_part(invoice) if invoice else None,
            usage_parts=[BillingEventUsage.from_part(u) for u in doc.get("usage") or ()],
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BillingEvent | None]:
        rows = await r.events_by_ids(info.context, list(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.input(description="Which payment events to list.")
class BillingEventFilter:
    type: str | None = strawberry.field(default=None, description="Only events of this provider type.")
    processing_status: BillingEventProcessingStatus | None = strawberry.field(
        default=None, description="Only events handled so."
    )


@strawberry.type(description="The tenant's subscription to a plan, through the payment provider.")
class BillingSubscription(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The subscription's id here.")
    tenant_id: strawberry.Private[uuid.UUID]
    plan_code: strawberry.Private[str]
    pending_plan_code: strawberry.Private[str | None]
    status: BillingSubscriptionStatus = strawberry.field(description="Its state at the payment provider.")
    auto_renew: bool = strawberry.field(description="False once cancelled at the end of the period.")
    billing_email: str | None = strawberry.field(description="Where invoices go.")
    seat_count: int | None = strawberry.field(description="Seats subscribed.")
    starts_at: datetime = strawberry.field(description="When it started.")
    current_period_start: datetime | None = strawberry.field(description="The start of the current billing period.")
    current_period_end: datetime | None = strawberry.field(description="The end of the current billing period.")
    trial_ends_at: datetime | None = strawberry.field(description="When the free trial ends.")
    cancel_at: datetime | None = strawberry.field(description="When it ends, once cancelled.")
    pending_seat_count: int | None = strawberry.field(description="Seats from the next period, when changed so.")
    pending_plan_effective_at: datetime | None = strawberry.field(description="When `pendingPlan` takes effect.")
    metadata: JSON = strawberry.field(description="Free-form annotations kept with the subscription.")

    @strawberry.field(description="The plan subscribed to.")
    async def plan(self, info: strawberry.Info) -> BillingPlan | None:
        return await _plans(info, self.plan_code)

    @strawberry.field(description="The plan the subscription moves to at `pendingPlanEffectiveAt`.")
    async def pending_plan(self, info: strawberry.Info) -> BillingPlan | None:
        return await _plans(info, self.pending_plan_code) if self.pending_plan_code else None

    @strawberry.field(description="Usage per feature in the current billing period.")
    async def usage(self, info: strawberry.Info) -> graph.Connection[UsageTotal]:
        return await _usage(info, self.tenant_id)

    @strawberry.field(description="The tenant's payment events, newest first.")
    async def events(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: BillingEventFilter | None = None,
    ) -> graph.Connection[BillingEvent]:
        kind = filter.type if filter else None
        status = filter.processing_status.value if filter and filter.processing_status else None

        async def fetch(offset: int, limit: int) -> Page[EventRow]:
            return await r.event_page(info.context, str(self.tenant_id), offset, limit, kind, status)

        return await graph.paginate(fetch, BillingEvent.from_row, first=first, after=after, last=last, before=before)

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> BillingSubscription:
        return cls(
            key=str(row.id),
            database_id=row.id,
            tenant_id=row.tenant_id,
            plan_code=row.plan_code,
            pending_plan_code=row.pending_plan_code,
            status=BillingSubscriptionStatus(row.status),
            auto_renew=row.auto_renew,
            billing_email=row.billing_email,
            seat_count=row.seat_count,
            starts_at=row.starts_at,
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            trial_ends_at=row.trial_ends_at,
            cancel_at=row.cancel_at,
            pending_seat_count=row.pending_seat_count,
            pending_plan_effective_at=row.pending_plan_effective_at,
            metadata=JSON(dict(row.metadata_ or {})),
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BillingSubscription | None]:
        rows = await r.subscriptions_by_ids(info.context, list(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]

    @classmethod
    async def for_tenant(cls, info: strawberry.Info, tenant_id: uuid.UUID) -> BillingSubscription | None:
        """The subscription of tenant `tenant_id`, for an edge such as `Tenant.billingSubscription`:
        null when the tenant has none, or is not the tenant the request acts in (an operator
        reaches another tenant's billing by acting in it, with `X-Tenant-Id`). Batched: a list
        of tenants costs one read."""

        async def batch(tenant_ids: list[uuid.UUID]) -> list[BillingSubscription | None]:
            rows = [await r.find_subscription(info.context, t) for t in dict.fromkeys(tenant_ids)]
            found = {row.tenant_id: cls.from_row(row) for row in rows if row is not None}
            return [found.get(t) for t in tenant_ids]

        subscription: BillingSubscription | None = await graph.loader(info, "billing.subscription", batch).load(
            tenant_id
        )
        return subscription


# -- mutations ------------------------------------------------------------------------------------


def _plan_code(plan_id: strawberry.ID, field: str) -> str:
    """The plan a global id names (a mistake in it is the user's: the field says where)."""
    code = graph.node_key(plan_id, "BillingPlan")
    if code is None:
        raise InvalidInput(
            "Not the id of a billing plan.", details=[{"field": f"input.{field}", "message": "not a billing plan's id"}]
        )
    return code


async def _known_plan(info: strawberry.Info, plan_id: strawberry.ID, field: str) -> str:
    code = _plan_code(plan_id, field)
    plan = await _plans(info, code)
    if plan is None or not plan.is_active:
        message = "No billing plan has this id."
        raise NotFound(message, details=[{"field": f"input.{field}", "message": message}])
    return code


def _idempotency(input: StartSubscriptionInput | RecordUsageInput) -> Idempotency:
    """The input's idempotency key, guarding the rest of the input."""
    return Idempotency(input.idempotency_key, replace(input, idempotency_key=None), field="input.idempotencyKey")


@strawberry.input(description="Start the tenant's subscription on a plan.")
class StartSubscriptionInput:
    plan_id: strawberry.ID = strawberry.field(description="The plan's global id.")
    billing_email: str | None = strawberry.field(default=None, description="Where invoices go.")
    auto_renew: bool = strawberry.field(default=True, description="Renew at the end of each period.")
    seat_count: int | None = strawberry.field(default=None, description="Seats; the plan's included seats if omitted.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, "
        "per caller and operation; a retry with the same key and input gets the first request's answer and starts nothing.",
        metadata=limited(KEY),
    )


@strawberry.input(description="Change the subscription: only the fields given change.")
class UpdateSubscriptionInput:
    auto_renew: bool | None = strawberry.field(default=None, description="Renew at the end of each period.")
    billing_email: str | None = strawberry.field(default=None, description="Where invoices go.")
    seat_count: int | None = strawberry.field(default=None, description="Seats.")
    plan_id: strawberry.ID | None = strawberry.field(default=None, description="Move to this plan (global id).")


@strawberry.input(description="Cancel the subscription.")
class CancelSubscriptionInput:
    at_period_end: bool = strawberry.field(
        default=True, description="Keep it until the end of the current period (true), or end it now."
    )


@strawberry.input(description="Record metered usage of a feature.")
class RecordUsageInput:
    feature_key: str = strawberry.field(description="The plan feature's key, e.g. `messages` (1-64 characters).")
    quantity: int = strawberry.field(description="Units used, at least 1.")
    period_start: datetime | None = strawberry.field(
        default=None, description="The period the usage belongs to (with `periodEnd`); the current one if omitted."
    )
    period_end: datetime | None = strawberry.field(default=None, description="The end of that period, after its start.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, "
        "per caller and operation; a retry with the same key and input gets the first request's answer and records nothing.",
        metadata=limited(KEY),
    )


@strawberry.type(description="The subscription started, or why not.")
class StartSubscriptionPayload:
    subscription: BillingSubscription | None = strawberry.field(
        default=None, description="The subscription started; null when there are user errors."
    )
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type(description="The subscription changed, or why not.")
class UpdateSubscriptionPayload:
    subscription: BillingSubscription | None = strawberry.field(
        default=None, description="The subscription changed; null when there are user errors."
    )
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type(description="The subscription cancelled, or why not.")
class CancelSubscriptionPayload:
    subscription: BillingSubscription | None = strawberry.field(
        default=None, description="The subscription cancelled; null when there are user errors."
    )
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type(description="The usage recorded, or why not.")
class RecordUsagePayload:
    usage: UsageTotal | None = strawberry.field(
        default=None,
        description="The feature's usage in the current billing period, this record included when it falls in it "
        "(null when it does not and the plan has no such feature).",
    )
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


# -- roots ----------------------------------------------------------------------------------------


@strawberry.type(description="One UTC day of the tenant's usage.")
class UsageCounter:
    day: date = strawberry.field(description="The UTC day counted.")
    input_tokens: int = strawberry.field(description="Tokens sent to the model by the turns and runs started that day.")
    output_tokens: int = strawberry.field(description="Tokens the model answered with.")
    requests: int = strawberry.field(description="Model requests made.")
    storage_bytes: int = strawberry.field(description="Bytes of the objects stored that day.")
    updated_at: datetime = strawberry.field(description="When the day's usage last grew.")

    @classmethod
    def from_counter(cls, counter: r.UsageCounter) -> UsageCounter:
        return cls(
            day=counter.day,
            input_tokens=counter.input_tokens,
            output_tokens=counter.output_tokens,
            requests=counter.requests,
            storage_bytes=counter.storage_bytes,
            updated_at=counter.updated_at,
        )


def _in_memory(items: list[UsageCounter]) -> Any:
    async def fetch(offset: int, limit: int) -> Page[UsageCounter]:
        return Page(items[offset : offset + limit], len(items))

    return fetch


@strawberry.type
class Query:
    @strawberry.field(description="The active billing plans, in the order they are offered (public).")
    async def billing_plans(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[BillingPlan]:
        async def fetch(offset: int, limit: int) -> Page[PlanRow]:
            return await r.plan_page(info.context, offset, limit)

        return await graph.paginate(fetch, BillingPlan.from_row, first=first, after=after)

    @strawberry.field(
        extensions=VIEWER,
        description="The subscription of the tenant the request acts in; null when it has none.",
    )
    async def billing_subscription(self, info: strawberry.Info) -> BillingSubscription | None:
        row = await r.find_subscription(info.context)
        return BillingSubscription.from_row(row) if row is not None else None

    @strawberry.field(
        extensions=VIEWER,
        description="Usage per feature in the current billing period of the tenant the request acts in "
        "(the subscription's period, else the calendar month).",
    )
    async def billing_usage(self, info: strawberry.Info) -> graph.Connection[UsageTotal]:
        return await _usage(info, None)

    @strawberry.field(
        extensions=VIEWER,
        description="What the tenant's agents used, one UTC day a counter, newest first (the last 100 days "
        "with usage): the tokens and model requests of its chat turns and workflow runs, the bytes it stored.",
    )
    async def usage_counters(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[UsageCounter]:
        counters = [UsageCounter.from_counter(c) for c in await r.usage_counters(info.context)]
        return await graph.paginate(_in_memory(counters), lambda c: c, first=first, after=after)


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=ADMIN, description="Start the tenant's subscription on a plan.")
    async def start_subscription(
        self, info: strawberry.Info, input: StartSubscriptionInput
    ) -> StartSubscriptionPayload:
        async def action() -> dict[str, Any]:
            code = await _known_plan(info, input.plan_id, "plan_id")
            row = await r.start_subscription(
                info.context,
                None,
                code,
                input.billing_email,
                input.auto_renew,
                input.seat_count,
                _idempotency(input),
            )
            return {"subscription": BillingSubscription.from_row(row)}

        return await graph.payload(StartSubscriptionPayload, action())

    @strawberry.mutation(extensions=ADMIN, description="Change seats, auto-renewal, billing email or plan.")
    async def update_subscription(
        self, info: strawberry.Info, input: UpdateSubscriptionInput
    ) -> UpdateSubscriptionPayload:
        async def action() -> dict[str, Any]:
            code = await _known_plan(info, input.plan_id, "plan_id") if input.plan_id is not None else None
            row = await r.update_subscription(
                info.context, None, input.auto_renew, input.billing_email, input.seat_count, code
            )
            return {"subscription": BillingSubscription.from_row(row)}

        return await graph.payload(UpdateSubscriptionPayload, action())

    @strawberry.mutation(extensions=ADMIN, description="Cancel now or at the end of the current period.")
    async def cancel_subscription(
        self, info: strawberry.Info, input: CancelSubscriptionInput
    ) -> CancelSubscriptionPayload:
        async def action() -> dict[str, Any]:
            row = await r.cancel_subscription(info.context, None, input.at_period_end)
            return {"subscription": BillingSubscription.from_row(row)}

        return await graph.payload(CancelSubscriptionPayload, action())

    @strawberry.mutation(extensions=ADMIN, description="Record metered usage (once per idempotency key).")
    async def record_usage(self, info: strawberry.Info, input: RecordUsageInput) -> RecordUsagePayload:
        async def action() -> dict[str, Any]:
            await r.record_usage(
                info.context,
                None,
                input.feature_key,
                input.quantity,
                None,
                input.period_start,
                input.period_end,
                _idempotency(input),
            )
            totals = UsageTotal.from_period(await r.usage_totals(info.context, None))
            return {"usage": next((t for t in totals if t.feature_key == input.feature_key), None)}

        return await graph.payload(RecordUsagePayload, action())


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=VIEWER, description="The tenant's payment events as they are handled.")
    async def billing_events(self, info: strawberry.Info) -> AsyncGenerator[BillingEvent, None]:
        async for event in r.billing_stream(info.context):
            row = await r.event_by_provider_id(info.context, event["stripe_event_id"])
            if row is not None:
                yield BillingEvent.from_row(row)
