"""The one mapping from Stripe-shaped objects (API answers, webhooks, the local provider's) to
what billing keeps: subscription row values, and the documented event shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


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
        str((item.get("price") or {}).get("id")), ""
    )
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
            "plan_code": fields["plan_code"],
            "status": fields["status"],
            "seat_count": fields["seat_count"],
            "auto_renew": fields["auto_renew"],
            "current_period_start": _iso_dt(fields["current_period_start"]),
            "current_period_end": _iso_dt(fields["current_period_end"]),
            "trial_ends_at": _iso_dt(fields["trial_ends_at"]),
            "cancel_at": _iso_dt(fields["cancel_at"]),
        }
        summary = f"Subscription {status}"
    elif etype.startswith("invoice."):
        invoice = {
            "invoice_id": str(obj.get("id", "")),
            "status": status,
            "amount_due_cents": int(obj.get("amount_due") or 0),
            "currency": str(obj.get("currency") or "usd"),
            "billing_reason": obj.get("billing_reason"),
            "hosted_invoice_url": obj.get("hosted_invoice_url"),
            "collection_method": obj.get("collection_method"),
            "period_start": _iso(obj.get("period_start")),
            "period_end": _iso(obj.get("period_end")),
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
