"""Service-account refresh tokens: one row per minted token (never the token itself)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base


class ServiceAccountToken(Base):
    """Not `TenantOwned`: global accounts (support-console, demo-bot) have no tenant, and the
    mixin's column is non-null. Resolvers scope reads to the caller's tenant explicitly."""

    __tablename__ = "service_account_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated, catalog order
    fingerprint: Mapped[str | None] = mapped_column(String(128))
    signing_kid: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoke_reason: Mapped[str | None] = mapped_column(String(256))
    issued_by: Mapped[str] = mapped_column(String(128))  # principal subject that minted it
