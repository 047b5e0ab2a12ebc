from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class TenantSettings(TenantOwned, Base):
    """Per-tenant settings, updated with optimistic concurrency on `version`."""

    __tablename__ = "tenant_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    billing_contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    billing_webhook_url: Mapped[str | None] = mapped_column(String(2048))
    plan_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    flags: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
