"""Invite tokens: minting, status, and redemption at registration.

Kept apart from `domain/identity/signup.py` (the operator-facing workflow) because `domain/identity/auth.py`
needs only this part, and signup.py in turn imports auth.py's validation helpers.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.base import utcnow
from agentdeck.db.models.signup import SignupInvite, SignupRequest
from agentdeck.db.session import rowcount
from agentdeck.errors import Forbidden

STATUSES = ("active", "revoked", "expired", "exhausted")
TOKEN_BYTES = 32  # 256 bits: the hash is unsalted, so the token itself must be unguessable


@dataclass(frozen=True)
class NewToken:
    plaintext: str
    digest: str
    hint: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> NewToken:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    # The hint lets operators tell invites apart without the secret: its last 6 characters.
    return NewToken(token, digest(token), token[-6:])


def status_of(invite: SignupInvite, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.redeemed_count >= invite.max_redemptions:
        return "exhausted"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    return "active"


def status_clause(status: str, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of `status_of`, so that list filters and totals agree with it."""
    not_revoked = SignupInvite.revoked_at.is_(None)
    left = SignupInvite.redeemed_count < SignupInvite.max_redemptions
    unexpired = or_(SignupInvite.expires_at.is_(None), SignupInvite.expires_at > now)
    return {
        "revoked": SignupInvite.revoked_at.is_not(None),
        "exhausted": and_(not_revoked, ~left),
        "expired": and_(not_revoked, left, ~unexpired),
        "active": and_(not_revoked, left, unexpired),
    }[status]


async def admissible(ctx: Context, token: str | None, email: str) -> uuid.UUID | None:
    """The invite a registration may redeem under the current policy; None under `public`.

    Every problem is the same 403 kind (as the legacy service did), with a message that says
    which one, so the person holding the invite knows what to ask the operator for.
    """
    policy = ctx.settings.signup_policy
    if policy == "public":
        return None  # open signup: an invite token, if sent, is neither checked nor spent
    if not token:
        raise Forbidden("An invite is required to register.")
    async with ctx.platform_session() as s:
        invite = await s.scalar(select(SignupInvite).where(SignupInvite.token_hash == digest(token)))
        if invite is None:
            raise Forbidden("Invite token is invalid.")
        status = status_of(invite)
        if status != "active":
            raise Forbidden(f"Invite is {status}.")
        if invite.invited_email and invite.invited_email != email:
            raise Forbidden("Invite was issued for another email address.")
        if policy == "approval":
            request = await s.get(SignupRequest, invite.signup_request_id) if invite.signup_request_id else None
            if request is None or request.status != "approved":
                raise Forbidden("Invite is not tied to an approved signup request.")
    return invite.id


async def redeem(s: AsyncSession, invite_id: uuid.UUID) -> None:
    """Count one redemption inside the caller's transaction, or refuse if none is left.

    One conditional UPDATE: the database re-checks the conditions under the row lock, so two
    concurrent registrations cannot both take the last redemption. Call it before the
    transaction's other writes (SQLite cannot upgrade a read snapshot that went stale).
    """
    now = utcnow()
    result = await s.execute(
        update(SignupInvite)
        .where(SignupInvite.id == invite_id, status_clause("active", now))
        .values(redeemed_count=SignupInvite.redeemed_count + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise Forbidden("Invite is no longer valid.")
