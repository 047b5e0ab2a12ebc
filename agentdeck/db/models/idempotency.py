"""Idempotency keys: one row per (caller, operation, key), with what the first request created."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class IdempotencyKey(Base):
    """A client's idempotency key (see `domain/common/idempotency.py`).

    Not `TenantOwned`: an anonymous caller (the contact form) has no tenant. `scope` names the
    caller (the tenant the request acts in and the principal's subject, or the client address),
    and every query filters on it. The unique constraint decides between concurrent first
    requests. `resource` stays NULL until the first request has created what it creates (it is
    written in the same transaction as that resource); a row that is never given one belongs to
    a request refused before it created anything, and is deleted.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "operation", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(320))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the inputs' canonical JSON
    # none_as_null: "not yet" must be SQL NULL, not the JSON value null.
    resource: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
