"""Signup requests and invites: platform-level rows (not tenant-owned), decided by operators."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, Timestamps


class SignupRequest(Timestamps, Base):
    """Someone asking for access while signup is not public."""

    __tablename__ = "signup_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), index=True)  # stored lower-case
    organization: Mapped[str] = mapped_column(String(128))
    full_name: Mapped[str] = mapped_column(String(128))
    message: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|rejected
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    decision_reason: Mapped[str | None] = mapped_column(String(512))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()


class SignupInvite(Timestamps, Base):
    """An invite token (only its SHA-256 is stored). `expired`/`exhausted` are derived, not stored."""

    __tablename__ = "signup_invites"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(16))
    invited_email: Mapped[str | None] = mapped_column(String(320), index=True)
    max_redemptions: Mapped[int] = mapped_column(Integer, default=1)
    redeemed_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(512))
    signup_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("signup_requests.id", ondelete="SET NULL"), index=True
    )
    issued_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
