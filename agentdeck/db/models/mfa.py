"""Multi-factor authentication: a user's second factors and one-time recovery codes.

Both belong to a user, not to a tenant (a user signs in to any of their tenants with the same
factors), so neither is `TenantOwned`: the domain scopes every read to the caller's own user id.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, Timestamps, utcnow


class MfaMethod(Timestamps, Base):
    """One enrolled factor (a TOTP authenticator): pending until a code verifies it, active
    until revoked. `last_used_step` is the TOTP time step of the last accepted code, so that a
    code cannot be used twice."""

    __tablename__ = "mfa_methods"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method_type: Mapped[str] = mapped_column(String(16))  # "totp"
    label: Mapped[str | None] = mapped_column(String(64))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM (auth/mfa_keys.py)
    verified_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None] = mapped_column()


class MfaRecoveryCode(Base):
    """A one-time recovery code, kept as HMAC-SHA256(pepper, salt || code)."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
