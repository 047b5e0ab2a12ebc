"""Billing: plans (configuration loaded at start-up), subscriptions, usage, Stripe events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class BillingPlan(Base):
    """A plan, as configured in `agentdeck/billing_plans.json` (synced at start-up)."""

    __tablename__ = "billing_plans"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    interval: Mapped[str] = mapped_column(String(16))
    interval_count: Mapped[int] = mapped_column(default=1)
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(8), default="usd")
    trial_days: Mapped[int | None]
    seat_included: Mapped[int | None]
    feature_toggles: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stripe_price_id: Mapped[str | None] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class TenantSubscription(TenantOwned, Base):
    """The tenant's one subscription. `state_at` is the time of the newest state applied, so an
    older webhook event delivered late never overwrites newer state."""

    __tablename__ = "tenant_subscriptions"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    auto_renew: Mapped[bool] = mapped_column(default=True)
    billing_email: Mapped[str | None] = mapped_column(String(320))
    starts_at: Mapped[datetime]
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    trial_ends_at: Mapped[datetime | None]
    cancel_at: Mapped[datetime | None]
    seat_count: Mapped[int | None]
    pending_plan_code: Mapped[str | None] = mapped_column(String(64))
    pending_plan_effective_at: Mapped[datetime | None]
    pending_seat_count: Mapped[int | None]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    processor: Mapped[str] = mapped_column(String(16))
    customer_ref: Mapped[str | None] = mapped_column(String(128))
    subscription_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    state_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UsageRecord(TenantOwned, Base):
    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_usage_records_period", "tenant_id", "feature_key", "period_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    feature_key: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(Base):
    """Every payment event received once, keyed by its provider id (NOTES §6).

    Not `TenantOwned`: an event arrives before its tenant is known (`tenant_id` is the hint from
    the payload's metadata); history queries filter on it explicitly. Retry state lives on the
    row because each event type has exactly one handler.
    """

    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_history", "tenant_id", "received_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    tenant_id: Mapped[uuid.UUID | None]
    stripe_created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    processing_outcome: Mapped[str] = mapped_column(String(16), default="received")
    processing_error: Mapped[str | None] = mapped_column(Text)
    processing_attempts: Mapped[int] = mapped_column(default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(index=True)
    normalized: Mapped[dict[str, Any] | None] = mapped_column(JSON)
