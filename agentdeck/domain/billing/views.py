"""What billing answers with, and the one mapping from Stripe-shaped objects to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentdeck.db.models import BillingPlan, TenantSubscription


@dataclass
class PlanFeature:
    key: str
    display_name: str
    description: str | None = None
    hard_limit: int | None = None
    soft_limit: int | None = None
    is_metered: bool = False


@dataclass
class Plan:
    code: str
    name: str
    interval: str
    interval_count: int
    price_cents: int
    currency: str
    trial_days: int | None
    seat_included: int | None
    feature_toggles: dict[str, bool]
    is_active: bool
    features: list[PlanFeature]

    @classmethod
    def of(cls, row: BillingPlan) -> Plan:
        return cls(row.code, row.name, row.interval, row.interval_count, row.price_cents, row.currency,
                   row.trial_days, row.seat_included, dict(row.feature_toggles), row.is_active,
                   [PlanFeature(**f) for f in row.features])


@dataclass
class Subscription:
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
    metadata: dict[str, str]

    @classmethod
    def of(cls, row: TenantSubscription) -> Subscription:
        return cls(str(row.tenant_id), row.plan_code, row.status, row.auto_renew, row.billing_email, row.starts_at,
                   row.current_period_start, row.current_period_end, row.trial_ends_at, row.cancel_at,
                   row.seat_count, row.pending_plan_code, row.pending_plan_effective_at, row.pending_seat_count,
                   dict(row.metadata_ or {}))


# Billing events: field order is the documented wire order of the SSE JSON (NOTES §4.2).
@dataclass
class EventSubscription:
    plan_code: str
    status: str
    seat_count: int | None
    auto_renew: bool
    current_period_start: str | None
    current_period_end: str | None
    trial_ends_at: str | None
    cancel_at: str | None


@dataclass
class EventInvoice:
    invoice_id: str
    status: str
    amount_due_cents: int
    currency: str
    billing_reason: str | None
    hosted_invoice_url: str | None
    collection_method: str | None
    period_start: str | None
    period_end: str | None


@dataclass
class EventUsage:
    feature_key: str
    quantity: int
    period_start: str | None = None
    period_end: str | None = None
    amount_cents: int | None = None


@dataclass
class BillingEvent:
    tenant_id: str
    event_type: str
    stripe_event_id: str
    occurred_at: str
    summary: str | None
    status: str
    subscription: EventSubscription | None
    invoice: EventInvoice | None
    usage: list[EventUsage] = field(default_factory=list)

    @classmethod
    def of(cls, d: dict[str, Any]) -> BillingEvent:
        return cls(
            d["tenant_id"], d["event_type"], d["stripe_event_id"], d["occurred_at"], d.get("summary"), d["status"],
            EventSubscription(**d["subscription"]) if d.get("subscription") else None,
            EventInvoice(**d["invoice"]) if d.get("invoice") else None,
            [EventUsage(**u) for u in d.get("usage") or ()],
        )


@dataclass
class EventPage:
    items: list[BillingEvent]
    next_cursor: str | None


@dataclass
class UsageAccepted:
    message: str = "Usage recorded."
    data: None = None


@dataclass
class UsageTotal:
    feature_key: str
    quantity: int
    hard_limit: int | None
    soft_limit: int | None
    period_start: datetime
    period_end: datetime


@dataclass
class WebhookReceipt:
    success: bool
    duplicate: bool


def from_ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value not in (None, "") else None


def _iso(value: Any) -> str | None:
    moment = from_ts(value)
    return moment.isoformat() if moment else None


def _first_item(obj: dict[str, Any]) -> dict[str, Any]:
    items = (obj.get("items") or {}).get("data") or [{}]
    return items[0] or {}


def subscription_fields(obj: dict[str, Any], price_to_plan: dict[str, str]) -> dict[str, Any]:
    """A Stripe subscription object (API answer, webhook or local provider) → row values.

    Newer Stripe API versions moved the billing period from the subscription to its items.
    """
    item = _first_item(obj)
    plan_code = (obj.get("metadata") or {}).get("plan_code") or price_to_plan.get(
        str((item.get("price") or {}).get("id")), "")
    if not plan_code:
        raise LookupError(f"subscription {obj.get('id')} has no known plan")
    cancel_at = from_ts(obj.get("cancel_at")) or from_ts(obj.get("canceled_at"))
    return {
        "plan_code": plan_code,
        "status": str(obj.get("status") or "incomplete"),
        "auto_renew": not bool(obj.get("cancel_at_period_end")) and obj.get("status") != "canceled",
        "current_period_start": from_ts(obj.get("current_period_start") or item.get("current_period_start")),
        "current_period_end": from_ts(obj.get("current_period_end") or item.get("current_period_end")),
        "trial_ends_at": from_ts(obj.get("trial_end")),
        "cancel_at": cancel_at,
        "seat_count": item.get("quantity"),
        "subscription_ref": obj.get("id"),
        "customer_ref": obj.get("customer") if isinstance(obj.get("customer"), str) else None,
    }


def normalize(event: dict[str, Any], tenant_id: uuid.UUID | None, price_to_plan: dict[str, str]) -> dict[str, Any]:
    """The documented BillingEventResponse for a stored event (history and live stream)."""
    etype = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    subscription = invoice = None
    status = str(obj.get("status") or "received")
    summary: str | None = etype
    if etype.startswith("customer.subscription."):
        fields = subscription_fields(obj, price_to_plan)
        subscription = {
            "plan_code": fields["plan_code"], "status": fields["status"], "seat_count": fields["seat_count"],
            "auto_renew": fields["auto_renew"],
            "current_period_start": _iso_dt(fields["current_period_start"]),
            "current_period_end": _iso_dt(fields["current_period_end"]),
            "trial_ends_at": _iso_dt(fields["trial_ends_at"]), "cancel_at": _iso_dt(fields["cancel_at"]),
        }
        summary = f"Subscription {status}"
    elif etype.startswith("invoice."):
        invoice = {
            "invoice_id": str(obj.get("id", "")), "status": status,
            "amount_due_cents": int(obj.get("amount_due") or 0), "currency": str(obj.get("currency") or "usd"),
            "billing_reason": obj.get("billing_reason"), "hosted_invoice_url": obj.get("hosted_invoice_url"),
            "collection_method": obj.get("collection_method"),
            "period_start": _iso(obj.get("period_start")), "period_end": _iso(obj.get("period_end")),
        }
        summary = obj.get("description") or obj.get("billing_reason") or f"Invoice {status}"
    return {
        "tenant_id": str(tenant_id) if tenant_id else "",
        "event_type": etype,
        "stripe_event_id": str(event.get("id", "")),
        "occurred_at": _iso(event.get("created")) or datetime.now(UTC).isoformat(),
        "summary": summary,
        "status": status,
        "subscription": subscription,
        "invoice": invoice,
        "usage": [],
    }


def _iso_dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
