"""Payment providers behind one interface: a local provider (the default) and Stripe.

Both answer with the subscription object in Stripe's shape, so that the billing resolvers have
one mapping (`subscription_state`) whether the state came from an API answer, a webhook or the
local provider. The local provider changes state at once; the platform then records the same
events Stripe would send, so billing works on `make serve` with nothing else running.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from agentdeck.settings import Settings

if TYPE_CHECKING:
    from stripe.params import SubscriptionCreateParams

StripeObject = dict[str, Any]


@dataclass(frozen=True)
class PlanRef:
    code: str
    interval: str
    interval_count: int
    trial_days: int | None
    stripe_price_id: str | None


@dataclass(frozen=True)
class Current:
    """What the platform knows of an existing subscription."""

    subscription_ref: str | None
    customer_ref: str | None
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_ends_at: datetime | None


class PaymentProvider(Protocol):
    name: str
    emits_events: bool  # True: the platform records the events itself (no webhooks will come)

    async def start(
        self, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, email: str | None, auto_renew: bool
    ) -> StripeObject: ...

    async def update(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, auto_renew: bool
    ) -> StripeObject: ...

    async def cancel(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, at_period_end: bool
    ) -> StripeObject: ...

    async def report_usage(
        self, current: Current, *, feature_key: str, quantity: int, idempotency_key: str | None, at: datetime
    ) -> None: ...


def add_interval(start: datetime, interval: str, count: int = 1) -> datetime:
    if interval == "day":
        return start + timedelta(days=count)
    if interval == "week":
        return start + timedelta(weeks=count)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _object(
    sub_id: str,
    customer: str,
    tenant_id: uuid.UUID,
    plan: PlanRef,
    seat_count: int,
    status: str,
    start: datetime,
    end: datetime,
    trial_end: datetime | None,
    cancel_at_period_end: bool,
    cancel_at: datetime | None,
) -> StripeObject:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": _ts(cancel_at),
        "current_period_start": _ts(start),
        "current_period_end": _ts(end),
        "trial_end": _ts(trial_end),
        "metadata": {"tenant_id": str(tenant_id), "plan_code": plan.code},
        "items": {
            "data": [
                {
                    "price": {"id": plan.stripe_price_id},
                    "quantity": seat_count,
                    "current_period_start": _ts(start),
                    "current_period_end": _ts(end),
                }
            ]
        },
    }


class LocalProvider:
    """No money moves: every change takes effect immediately."""

    name = "local"
    emits_events = True

    async def start(
        self, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, email: str | None, auto_renew: bool
    ) -> StripeObject:
        now = datetime.now(UTC).replace(microsecond=0)
        trial_end = now + timedelta(days=plan.trial_days) if plan.trial_days else None
        end = trial_end or add_interval(now, plan.interval, plan.interval_count)
        return _object(
            f"sub_local_{uuid.uuid4().hex[:24]}",
            f"cus_local_{tenant_id.hex[:24]}",
            tenant_id,
            plan,
            seat_count,
            "trialing" if trial_end else "active",
            now,
            end,
            trial_end,
            not auto_renew,
            None if auto_renew else end,
        )

    async def update(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, auto_renew: bool
    ) -> StripeObject:
        start = current.current_period_start or datetime.now(UTC)
        end = current.current_period_end or add_interval(start, plan.interval, plan.interval_count)
        return _object(
            current.subscription_ref or "",
            current.customer_ref or "",
            tenant_id,
            plan,
            seat_count,
            current.status,
            start,
            end,
            current.trial_ends_at,
            not auto_renew,
            None if auto_renew else end,
        )

    async def cancel(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, at_period_end: bool
    ) -> StripeObject:
        now = datetime.now(UTC).replace(microsecond=0)
        start = current.current_period_start or now
        end = current.current_period_end or now
        if at_period_end:
            return _object(
                current.subscription_ref or "",
                current.customer_ref or "",
                tenant_id,
                plan,
                seat_count,
                current.status,
                start,
                end,
                current.trial_ends_at,
                True,
                end,
            )
        return _object(
            current.subscription_ref or "",
            current.customer_ref or "",
            tenant_id,
            plan,
            seat_count,
            "canceled",
            start,
            end,
            current.trial_ends_at,
            False,
            now,
        )

    async def report_usage(
        self, current: Current, *, feature_key: str, quantity: int, idempotency_key: str | None, at: datetime
    ) -> None:
        return None  # usage is kept in the platform's own table only


class StripeProvider:
    """Stripe through the official SDK (async methods, so the event loop is never blocked)."""

    name = "stripe"
    emits_events = False  # Stripe delivers the events as webhooks

    def __init__(self, secret_key: str, api_base: str | None = None) -> None:
        import stripe

        self.client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=1
        )

    async def start(
        self, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, email: str | None, auto_renew: bool
    ) -> StripeObject:
        metadata = {"tenant_id": str(tenant_id), "plan_code": plan.code}
        customer = await self.client.customers.create_async(
            params={"email": email, "metadata": metadata} if email else {"metadata": metadata},
            options={"idempotency_key": f"customer-{tenant_id}-{uuid.uuid4().hex}"},
        )
        params: SubscriptionCreateParams = {
            "customer": customer.id,
            "items": [{"price": self._price(plan), "quantity": seat_count}],
            "metadata": metadata,
            "cancel_at_period_end": not auto_renew,
        }
        if plan.trial_days:
            params["trial_period_days"] = plan.trial_days
        sub = await self.client.subscriptions.create_async(params=params)
        return sub.to_dict()

    async def update(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, auto_renew: bool
    ) -> StripeObject:
        ref = self._ref(current)
        existing = await self.client.subscriptions.retrieve_async(ref)
        item = existing["items"]["data"][0]["id"]
        sub = await self.client.subscriptions.update_async(
            ref,
            params={
                "items": [{"id": item, "price": self._price(plan), "quantity": seat_count}],
                "cancel_at_period_end": not auto_renew,
                "metadata": {"tenant_id": str(tenant_id), "plan_code": plan.code},
                "proration_behavior": "create_prorations",
            },
        )
        return sub.to_dict()

    async def cancel(
        self, current: Current, *, tenant_id: uuid.UUID, plan: PlanRef, seat_count: int, at_period_end: bool
    ) -> StripeObject:
        ref = self._ref(current)
        if at_period_end:
            sub = await self.client.subscriptions.update_async(ref, params={"cancel_at_period_end": True})
        else:
            sub = await self.client.subscriptions.cancel_async(ref)
        return sub.to_dict()

    async def report_usage(
        self, current: Current, *, feature_key: str, quantity: int, idempotency_key: str | None, at: datetime
    ) -> None:
        if not current.customer_ref:
            return
        params: dict[str, Any] = {
            "event_name": feature_key,
            "payload": {"stripe_customer_id": current.customer_ref, "value": str(quantity)},
            "timestamp": int(at.timestamp()),
        }
        if idempotency_key:
            params["identifier"] = idempotency_key  # Stripe deduplicates meter events by it too
        await self.client.billing.meter_events.create_async(params=params)  # type: ignore[arg-type]

    @staticmethod
    def _price(plan: PlanRef) -> str:
        return plan.stripe_price_id or f"price_agentdeck_{plan.code}"

    @staticmethod
    def _ref(current: Current) -> str:
        if not current.subscription_ref:
            raise LookupError("subscription has no Stripe id")
        return current.subscription_ref


def make_payments(settings: Settings) -> PaymentProvider:
    if settings.stripe_secret_key:
        return StripeProvider(settings.stripe_secret_key, settings.stripe_api_base)
    return LocalProvider()
