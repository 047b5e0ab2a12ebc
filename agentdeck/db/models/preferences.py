"""What a user agreed to (consents) and which optional mail they want (notification preferences)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class UserConsent(Base):
    """One acceptance of one version of a policy: append-only history, one row per (user, policy,
    version). A person's, not a tenant's (terms are accepted once, whatever tenant they act in),
    so it is read by user, like their sessions."""

    __tablename__ = "user_consents"
    __table_args__ = (
        UniqueConstraint("user_id", "policy_key", "version", name="uq_user_consents_version"),
        Index("ix_user_consents_user_accepted", "user_id", "accepted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    policy_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_hash: Mapped[str | None] = mapped_column(String(128))
    user_agent_hash: Mapped[str | None] = mapped_column(String(128))


class NotificationPreference(TenantOwned, Base):
    """Whether a user wants one category of notice on one channel, in one tenant. No row = the
    default (wanted)."""

    __tablename__ = "user_notification_preferences"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "channel", "category", name="uq_user_notification_preferences_scope"),
        Index("ix_user_notification_preferences_user", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
