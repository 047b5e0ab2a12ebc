from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from agentdeck.db.models import BillingPlan as PlanRow
from agentdeck.db.models import TenantSubscription as SubscriptionRow
from agentdeck.domain import billing as r
from agentdeck.domain.common.idempotency import KEY
from agentdeck.domain.common.results import CursorPage, Outcome
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

    @classmethod
    def from_config(cls, feature: dict[str, Any]) -> PlanFeature:
        """A feature as `billing_plans.json` configures it."""
        return cls(
            key=feature["key"],
            display_name=feature["display_name"],
            description=feature.get("description"),
            hard_limit=feature.get("hard_limit"),
            soft_limit=feature.get("soft_limit"),
            is_metered=feature.get("is_metered", False),
        )


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

    @classmethod
    def from_row(cls, row: PlanRow) -> BillingPlan:
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
            features=[PlanFeature.from_config(f) for f in row.features],
        )


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

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> TenantSubscription:
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

    @classmethod
    def from_event(cls, usage: dict[str, Any]) -> BillingEventUsage:
        return cls(
            feature_key=usage["feature_key"],
            quantity=usage["quantity"],
            period_start=usage.get("period_start"),
            period_end=usage.get("period_end"),
            amount_cents=usage.get("amount_cents"),
        )


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

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> BillingEvent:
        """An event in the documented shape billing stores and streams (`stripe_objects.normalize`)."""
        subscription, invoice = event.get("subscription"), event.get("invoice")
        return cls(
            tenant_id=event["tenant_id"],
            event_type=event["event_type"],
            stripe_event_id=event["stripe_event_id"],
            occurred_at=event["occurred_at"],
            summary=event.get("summary"),
            status=event["status"],
            subscription=BillingEventSubscription(**subscription) if subscription else None,
            invoice=BillingEventInvoice(**invoice) if invoice else None,
            usage=[BillingEventUsage.from_event(u) for u in event.get("usage") or ()],
        )


@strawberry.type
class BillingEventHistory:
    items: list[BillingEvent]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[dict[str, Any]]) -> BillingEventHistory:
        return cls(items=[BillingEvent.from_event(e) for e in page.items], next_cursor=page.next_cursor)


@strawberry.type(description="Usage accepted; `data` is always null.")
class UsageRecorded:
    message: str
    data: None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome[None]) -> UsageRecorded:
        return cls(message=outcome.message)


@strawberry.type(description="Usage of one feature in the current billing period.")
class UsageTotal:
    feature_key: str
    quantity: int
    hard_limit: int | None
    soft_limit: int | None
    period_start: datetime
    period_end: datetime

    @classmethod
    def from_period(cls, usage: r.PeriodUsage) -> list[UsageTotal]:
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
        default=None,
        metadata=limited(KEY),
        description="The request's idempotency key (legacy field): the same as `idempotencyKey` (REST "
        "`Idempotency-Key`); send either, or both with one value.",
    )
    period_start: datetime | None = None
    period_end: datetime | None = None


VIEWER, ADMIN = allow(TenantRole("viewer")), allow(TenantRole("admin"))


@strawberry.type
class Query:
    @strawberry.field(description="Active billing plans (public).")
    async def billing_plans(self, info: strawberry.Info) -> list[BillingPlan]:
        return [BillingPlan.from_row(row) for row in await r.list_plans(info.context)]

    @strawberry.field(extensions=VIEWER, description="The tenant's subscription.")
    async def tenant_subscription(self, info: strawberry.Info, tenant_id: str) -> TenantSubscription:
        return TenantSubscription.from_row(await r.get_subscription(info.context, tenant_id))

    @strawberry.field(extensions=VIEWER, description="Payment events, newest first.")
    async def billing_event_history(
        self,
        info: strawberry.Info,
        tenant_id: str,
        limit: PageSize = 25,
        cursor: str | None = None,
        event_type: str | None = None,
        processing_status: StripeEventStatus | None = None,
    ) -> BillingEventHistory:
        status = processing_status.value if processing_status else None
        return BillingEventHistory.from_page(
            await r.event_history(info.context, tenant_id, limit, cursor, event_type, status)
        )

    @strawberry.field(extensions=VIEWER, description="Usage per feature in the current billing period.")
    async def usage_totals(self, info: strawberry.Info, tenant_id: str) -> list[UsageTotal]:
        return UsageTotal.from_period(await r.usage_totals(info.context, tenant_id))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=ADMIN, description="Start a subscription on a plan.")
    async def start_subscription(
        self,
        info: strawberry.Info,
        tenant_id: str,
        input: StartSubscriptionInput,
        idempotency_key: IdempotencyKey = None,
    ) -> TenantSubscription:
        return TenantSubscription.from_row(
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
        self, info: strawberry.Info, tenant_id: str, input: UpdateSubscriptionInput
    ) -> TenantSubscription:
        return TenantSubscription.from_row(
            await r.update_subscription(
                info.context, tenant_id, input.auto_renew, input.billing_email, input.seat_count, input.plan_code
            )
        )

    @strawberry.mutation(extensions=ADMIN, description="Cancel now or at the end of the current period.")
    async def cancel_subscription(
        self, info: strawberry.Info, tenant_id: str, input: CancelSubscriptionInput
    ) -> TenantSubscription:
        return TenantSubscription.from_row(
            await r.cancel_subscription(info.context, tenant_id, input.cancel_at_period_end)
        )

    @strawberry.mutation(extensions=ADMIN, description="Record metered usage (once per idempotency key).")
    async def record_usage(
        self, info: strawberry.Info, tenant_id: str, input: UsageRecordInput, idempotency_key: IdempotencyKey = None
    ) -> UsageRecorded:
        guarded = replace(input, idempotency_key=None)  # the key, wherever it came, is not an input
        return UsageRecorded.from_outcome(
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
class Subscription:
    @strawberry.subscription(extensions=VIEWER, description="The tenant's payment events as they are handled.")
    async def billing_events(self, info: strawberry.Info) -> AsyncGenerator[BillingEvent, None]:
        async for event in r.billing_stream(info.context):
            yield BillingEvent.from_event(event)
