from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class OutboxMessage(Base):
    """Every platform mail, sent or not. Platform mail (verification, invitations to sign up)
    is addressed to people before they belong to a tenant, so it is not `TenantOwned`."""

    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    to_address: Mapped[str] = mapped_column(String(320), index=True)  # RFC 5321 maximum
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "email_verification"
    status: Mapped[str] = mapped_column(String(16))  # "logged" | "sent" | "failed" | "suppressed"
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
