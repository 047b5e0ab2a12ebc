"""Status page: probe history, incidents, subscriptions to incident alerts, contact submissions.

None of these rows is tenant-owned: the status page is public and platform-wide. A subscription
may carry the tenant of whoever created it, for filtering only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, Timestamps, utcnow


class StatusProbe(Base):
    """One health probe of one service; uptime is computed from these rows."""

    __tablename__ = "status_probes"
    __table_args__ = (Index("ix_status_probes_service_checked_at", "service", "checked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    service: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StatusIncident(Timestamps, Base):
    __tablename__ = "status_incidents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    service: Mapped[str] = mapped_column(String(64))
    impact: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(16))  # major | minor | maintenance
    state: Mapped[str] = mapped_column(String(16))  # investigating | identified | monitoring | resolved
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column()


class StatusSubscription(Timestamps, Base):
    """Only hashes of the mailed/posted tokens are kept. The webhook secret is kept as is: it
    signs every delivery, so it must be readable."""

    __tablename__ = "status_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(2048))
    severity_filter: Mapped[str] = mapped_column(String(16))  # all | major | maintenance
    status: Mapped[str] = mapped_column(String(32), index=True)  # pending_verification | active | revoked
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    labels: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    verify_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    verify_expires_at: Mapped[datetime | None] = mapped_column()
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ContactSubmission(Base):
    __tablename__ = "contact_submissions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)  # the reference id
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(120))
    topic: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    delivered: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
