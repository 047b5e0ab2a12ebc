"""Single-use account tokens: email verification and password reset links."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow

PURPOSES = ("verify_email", "reset_password")


class AccountToken(Base):
    """A token mailed to a user. Not tenant-owned: it acts on the user, who may be in several
    tenants. Only the SHA-256 of the token is kept, so a database leak yields no usable link."""

    __tablename__ = "account_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # one of PURPOSES
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
