"""The activity feed: platform events of a tenant, and each reader's read state of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class ActivityEvent(TenantOwned, Base):
    """One thing that happened in a tenant (a sign-in, a workflow run, a file...), written in the
    transaction of the change itself (`domain/activity`). Never updated."""

    __tablename__ = "activity_events"
    __table_args__ = (Index("ix_activity_events_tenant_order", "tenant_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. auth.login.success
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(128))  # a user id, or a service account's name
    actor_type: Mapped[str | None] = mapped_column(String(32))  # user | service_account | system
    actor_role: Mapped[str | None] = mapped_column(String(16))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    object_name: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="success")  # success | failure | pending
    source: Mapped[str | None] = mapped_column(String(32))  # api | system
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON(none_as_null=True))


class ActivityReceipt(TenantOwned, Base):
    """A reader's state of one event: `read` or `dismissed` (no row: unread, or read by the
    reader's checkpoint)."""

    __tablename__ = "activity_receipts"
    __table_args__ = (UniqueConstraint("event_id", "reader"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activity_events.id", ondelete="CASCADE"))
    reader: Mapped[str] = mapped_column(String(200), index=True)  # the principal's subject, e.g. user:<id>
    status: Mapped[str] = mapped_column(String(16))  # read | dismissed
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ActivityCheckpoint(TenantOwned, Base):
    """ "Mark all read": every event of the tenant created up to `read_until` is read for `reader`
    unless a receipt says otherwise."""

    __tablename__ = "activity_checkpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "reader"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reader: Mapped[str] = mapped_column(String(200))
    read_until: Mapped[datetime] = mapped_column()
