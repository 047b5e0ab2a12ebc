from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.domain import billing as r
from agentdeck.domain.common.idempotency import KEY
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow


@strawberry.enum
class StripeEventStatus(enum.Enum):
    received = "received"
    processed = "processed"
    failed = "failed"


@strawberry.type
class PlanFeature:
    key: str
    display_name: str
    description: str | None
    hard_limit: int | None
    soft_limit: int | None
    is_metered: bool


@strawberry.type(description="A billing plan; prices are integer cents.")
class BillingPlan:
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
    features: list[PlanFeature]


@strawberry.type
class TenantSubscription:
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


@strawberry.type
class BillingEventSubscription:
    plan_code: str
    status: str
    seat_count: int | None
    auto_renew: bool
    current_period_start: str | None
    current_period_end: str | None
    trial_ends_at: str | None
    cancel_at: str | None


@strawberry.type
class BillingEventInvoice:
    invoice_id: str
    status: str
    amount_due_cents: int
    currency: str
    billing_reason: str | None
    hosted_invoice_url: str | None
    collection_method: str | None
    period_start: str | None
    period_end: str | None


@strawberry.type
class BillingEventUsage:
    feature_key: str
    quantity: int
    period_start: str | None
    period_end: str | None
    amount_cents: int | None


@strawberry.type(description="A payment event as recorded; times are ISO strings with +00:00.")
class BillingEvent:
    tenant_id: str
    event_type: str
    stripe_event_id: str
    occurred_at: str
    summary: str | None
    status: str
    subscription: BillingEventSubscription | None
    invoice: BillingEventInvoice | None
    usage: list[BillingEventUsage]


@strawberry.type
class BillingEventHistory:
    items: list[BillingEvent]
    next_cursor: str | None


@strawberry.type(description="Usage accepted; `data` is always null.")
class UsageRecorded:
    message: str
    data: None = None


@strawberry.type(description="Usage of one feature in the current billing period.")
class UsageTotal:
    feature_key: str
    quantity: int
    hard_limit: int | None
    soft_limit: int | None
    period_start: datetime
    period_end: datetime


@strawberry.input
class StartSubscriptionInput:
    plan_code: str
    billing_email: str | None = None
    auto_renew: bool = True
    seat_count: int | None = None


@strawberry.input
class UpdateSubscriptionInput:
    auto_renew: bool | None = None
    billing_email: str | None = None
    seat_count: int | None = None
    plan_code: str | None = strawberry.field(default=None, description="Change plan (agentdeck extension).")


@strawberry.input
class CancelSubscriptionInput:
    cancel_at_period_end: bool = True


@strawberry.input
class UsageRecordInput:
    feature_key: str
    quantity: int
    idempotency_key: str | None = strawberry.field(
        default=None, metadata=limited(KEY),
        description="The request's idempotency key (legacy field): the same as `idempotencyKey` (REST "
                    "`Idempotency-Key`); send either, or both with one value.")
    period_start: datetime | None = None
    period_end: datetime | None = None


VIEWER, ADMIN = allow(TenantRole("viewer")), allow(TenantRole("admin"))


@strawberry.type
class Query:
    @strawberry.field(description="Active billing plans (public).")
    async def billing_plans(self, info: strawberry.Info) -> list[BillingPlan]:
        return await r.list_plans(info.context)  # type: ignore[return-value]

    @strawberry.field(extensions=VIEWER, description="The tenant's subscription.")
    async def tenant_subscription(self, info: strawberry.Info, tenant_id: str) -> TenantSubscription:
        return await r.get_subscription(info.context, tenant_id)  # type: ignore[return-value]

    @strawberry.field(extensions=VIEWER, description="Payment events, newest first.")
    async def billing_event_history(
        self, info: strawberry.Info, tenant_id: str, limit: PageSize = 25, cursor: str | None = None,
        event_type: str | None = None, processing_status: StripeEventStatus | None = None,
    ) -> BillingEventHistory:
        status = processing_status.value if processing_status else None
        return await r.event_history(info.context, tenant_id, limit, cursor, event_type, status)  # type: ignore[return-value]

    @strawberry.field(extensions=VIEWER, description="Usage per feature in the current billing period.")
    async def usage_totals(self, info: strawberry.Info, tenant_id: str) -> list[UsageTotal]:
        return await r.usage_totals(info.context, tenant_id)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=ADMIN, description="Start a subscription on a plan.")
    async def start_subscription(self, info: strawberry.Info, tenant_id: str, input: StartSubscriptionInput,
                                 idempotency_key: IdempotencyKey = None) -> TenantSubscription:
        return await r.start_subscription(  # type: ignore[return-value]
            info.context, tenant_id, input.plan_code, input.billing_email, input.auto_renew, input.seat_count,
            keyed(idempotency_key, tenant_id=tenant_id, input=input))

    @strawberry.mutation(extensions=ADMIN, description="Change seats, auto-renewal, billing email or plan.")
    async def update_subscription(self, info: strawberry.Info, tenant_id: str,
                                  input: UpdateSubscriptionInput) -> TenantSubscription:
        return await r.update_subscription(  # type: ignore[return-value]
            info.context, tenant_id, input.auto_renew, input.billing_email, input.seat_count, input.plan_code)

    @strawberry.mutation(extensions=ADMIN, description="Cancel now or at the end of the current period.")
    async def cancel_subscription(self, info: strawberry.Info, tenant_id: str,
                                  input: CancelSubscriptionInput) -> TenantSubscription:
        return await r.cancel_subscription(info.context, tenant_id, input.cancel_at_period_end)  # type: ignore[return-value]

    @strawberry.mutation(extensions=ADMIN, description="Record metered usage (once per idempotency key).")
    async def record_usage(self, info: strawberry.Info, tenant_id: str, input: UsageRecordInput,
                           idempotency_key: IdempotencyKey = None) -> UsageRecorded:
        guarded = replace(input, idempotency_key=None)  # the key, wherever it came, is not an input
        return await r.record_usage(  # type: ignore[return-value]
            info.context, tenant_id, input.feature_key, input.quantity, input.idempotency_key,
            input.period_start, input.period_end, keyed(idempotency_key, tenant_id=tenant_id, input=guarded))


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=VIEWER, description="The tenant's payment events as they are handled.")
    async def billing_events(self, info: strawberry.Info) -> AsyncGenerator[BillingEvent, None]:
        async for event in r.billing_stream(info.context):
            yield event  # type: ignore[misc]
