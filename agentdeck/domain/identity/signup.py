"""Access requests and the operator workflow around invites (NOTES §9.3).

Anyone may ask for access while signup is not public; platform operators list the requests,
approve them (which issues an invite tied to the request) or reject them, and issue, list and
revoke invites. Registration redeems invites through `domain/identity/invites.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.base import utcnow
from agentdeck.db.models.signup import SignupInvite, SignupRequest
from agentdeck.db.session import rowcount
from agentdeck.domain.common.access import client_info, require_scope
from agentdeck.domain.common.limits import EMAIL, Limit
from agentdeck.domain.common.results import Page
from agentdeck.domain.identity import invites
from agentdeck.domain.identity.auth import SignupPolicy, signup_policy
from agentdeck.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited

REQUESTS_SCOPE = "auth:signup_requests"
INVITES_SCOPE = "auth:invites"
DEFAULT_INVITE_HOURS = 72
MAX_INVITE_HOURS = 336
MAX_PAGE = 200
PAGE_SIZE = Limit(ge=1, le=MAX_PAGE)  # operators page through larger lists
# (key prefix, limit, window seconds, label): NOTES §10, "signup" quota.
SIGNUP_QUOTAS = (
    ("ip-hour", 20, 3600, "20 per hour per IP"),
    ("ip-day", 100, 86400, "100 per day per IP"),
    ("email", 3, 86400, "3 per day per email"),
    ("domain", 20, 86400, "20 per day per email domain"),
)


@dataclass(frozen=True)
class RequestPage(Page[SignupRequest]):
    """A page of access requests; `hints`: the token hint of each request's newest invite."""

    hints: dict[uuid.UUID, str]


@dataclass(frozen=True)
class NewInvite:
    """An invite just issued, with its token: shown once, in the answer that issues it, and
    never stored (only its hash is)."""

    row: SignupInvite
    token: str


@dataclass(frozen=True)
class Decision:
    """A decided request, and the invite an approval issued (None on rejection)."""

    request: SignupRequest
    invite: NewInvite | None


def _actor(ctx: Context) -> uuid.UUID | None:
    # Read the subject the auth layer resolved (the legacy code read a missing `sub` key: §13.1).
    subject = ctx.principal.subject if ctx.principal else ""
    return uuid.UUID(subject.removeprefix("user:")) if subject.startswith("user:") else None


def _check(problems: list[dict[str, Any]]) -> None:
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


def _length(problems: list, field: str, value: str | None, low: int, high: int) -> None:
    if value is None:
        return
    if len(value.strip()) < low:
        problems.append(
            {"field": field, "type": "string_too_short", "message": f"String should have at least {low} characters"}
        )
    elif len(value) > high:
        problems.append(
            {"field": field, "type": "string_too_long", "message": f"String should have at most {high} characters"}
        )


def _bounded(problems: list, field: str, value: int | None, low: int, high: int) -> None:
    if value is None:
        return
    if value < low:
        problems.append(
            {"field": field, "type": "greater_than_equal", "message": f"Input should be greater than or equal to {low}"}
        )
    elif value > high:
        problems.append(
            {"field": field, "type": "less_than_equal", "message": f"Input should be less than or equal to {high}"}
        )


async def _rate_limit(ctx: Context, email: str, ip: str | None) -> None:
    subjects = {"ip-hour": ip, "ip-day": ip, "email": email, "domain": email.rpartition("@")[2]}
    for name, limit, window, label in SIGNUP_QUOTAS:
        decision = await ctx.services.limiter.hit(f"signup:{name}:{subjects[name]}", limit, window)
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit exceeded ({label}). Retry after {decision.retry_after}s.", retry_after=decision.retry_after
            )


async def request_access(
    ctx: Context, email: str, organization: str, full_name: str, message: str | None, honeypot: str | None
) -> SignupPolicy:
    """Accepting the terms is checked by the schema (`auth.ACCEPT_TERMS` on the input)."""
    policy = signup_policy(ctx)
    if not policy.request_access_enabled:
        raise Forbidden("Access requests are not enabled: signup is open to everyone.")
    email = email.strip().lower()
    problems: list[dict[str, Any]] = []
    if not EMAIL.match(email):
        problems.append(
            {"field": "input.email", "type": "value_error", "message": "value is not a valid email address"}
        )
    _length(problems, "input.organization", organization, 2, 128)
    _length(problems, "input.full_name", full_name, 2, 128)
    _length(problems, "input.message", message, 0, 1000)
    _check(problems)
    if honeypot:
        return policy  # a bot filled the hidden field: answer as usual, keep nothing
    user_agent, ip = client_info(ctx)
    await _rate_limit(ctx, email, ip)
    async with ctx.platform_session() as s:
        # One pending request per email is enough for an operator to act on.
        pending = await s.scalar(
            select(SignupRequest.id).where(SignupRequest.email == email, SignupRequest.status == "pending")
        )
        if pending is None:
            s.add(
                SignupRequest(
                    email=email,
                    organization=organization.strip(),
                    full_name=full_name.strip(),
                    message=message,
                    ip_address=ip,
                    user_agent=user_agent,
                )
            )
            await s.commit()
    return policy


async def list_requests(ctx: Context, status: str | None, limit: int, offset: int) -> RequestPage:
    where = [SignupRequest.status == status] if status else []
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(SignupRequest).where(*where))
        rows = (
            await s.scalars(
                select(SignupRequest)
                .where(*where)
                .order_by(SignupRequest.created_at.desc(), SignupRequest.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        hints = await _hints(s, [r.id for r in rows])
    return RequestPage(list(rows), total or 0, hints)


async def _hints(s: Any, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The newest invite's hint per request, in one query."""
    if not request_ids:
        return {}
    rows = (
        await s.execute(
            select(SignupInvite.signup_request_id, SignupInvite.token_hint)
            .where(SignupInvite.signup_request_id.in_(request_ids))
            .order_by(SignupInvite.created_at)
        )
    ).all()
    return {rid: hint for rid, hint in rows}


async def _decide(
    s: AsyncSession, ctx: Context, request_id: uuid.UUID, status: str, reason: str | None
) -> SignupRequest:
    """Move a pending request to `status` in `s`; the WHERE makes concurrent decisions race-free."""
    result = await s.execute(
        update(SignupRequest)
        .where(SignupRequest.id == request_id, SignupRequest.status == "pending")
        .values(status=status, decision_reason=reason, decided_by=_actor(ctx), decided_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    row = await s.get(SignupRequest, request_id, populate_existing=True)
    if row is None:
        raise NotFound("Signup request not found.")
    if rowcount(result) != 1:
        raise Conflict(f"Signup request is already {row.status}.")
    return row


async def approve(ctx: Context, request_id: uuid.UUID, note: str | None, expires_in_hours: int | None) -> Decision:
    problems: list[dict[str, Any]] = []
    _length(problems, "input.note", note, 0, 512)
    _bounded(problems, "input.invite_expires_in_hours", expires_in_hours, 1, MAX_INVITE_HOURS)
    _check(problems)
    async with ctx.platform_session() as s:
        # One transaction: an approved request always has its invite.
        request = await _decide(s, ctx, request_id, "approved", note)
        invite = _new_invite(s, ctx, request.email, 1, expires_in_hours, note, request_id)
        await s.commit()
    return Decision(request, invite)


async def reject(ctx: Context, request_id: uuid.UUID, reason: str | None) -> Decision:
    problems: list[dict[str, Any]] = []
    _length(problems, "input.reason", reason, 0, 512)
    _check(problems)
    async with ctx.platform_session() as s:
        request = await _decide(s, ctx, request_id, "rejected", reason)
        await s.commit()
    return Decision(request, None)


def _new_invite(
    s: AsyncSession,
    ctx: Context,
    invited_email: str | None,
    max_redemptions: int,
    expires_in_hours: int | None,
    note: str | None,
    signup_request_id: uuid.UUID | None,
) -> NewInvite:
    """Add an invite to `s`."""
    token = invites.new_token()
    hours = expires_in_hours or DEFAULT_INVITE_HOURS  # an explicit null still expires: no eternal invites
    row = SignupInvite(
        token_hash=token.digest,
        token_hint=token.hint,
        invited_email=invited_email,
        max_redemptions=max_redemptions,
        redeemed_count=0,
        expires_at=utcnow() + timedelta(hours=hours),
        note=note,
        signup_request_id=signup_request_id,
        issued_by=_actor(ctx),
    )
    s.add(row)
    return NewInvite(row, token.plaintext)


async def issue(
    ctx: Context,
    invited_email: str | None,
    max_redemptions: int,
    expires_in_hours: int | None,
    note: str | None,
    signup_request_id: uuid.UUID | None,
) -> NewInvite:
    problems: list[dict[str, Any]] = []
    if invited_email is not None:
        invited_email = invited_email.strip().lower()
        if not EMAIL.match(invited_email):
            problems.append(
                {"field": "input.invited_email", "type": "value_error", "message": "value is not a valid email address"}
            )
    _bounded(problems, "input.max_redemptions", max_redemptions, 1, 10)
    _bounded(problems, "input.expires_in_hours", expires_in_hours, 1, MAX_INVITE_HOURS)
    _length(problems, "input.note", note, 0, 512)
    _check(problems)
    async with ctx.platform_session() as s:
        if signup_request_id is not None and await s.get(SignupRequest, signup_request_id) is None:
            raise NotFound("Signup request not found.")
        invite = _new_invite(s, ctx, invited_email, max_redemptions, expires_in_hours, note, signup_request_id)
        await s.commit()
    return invite


async def list_invites(
    ctx: Context, status: str | None, email: str | None, request_id: uuid.UUID | None, limit: int, offset: int
) -> Page[SignupInvite]:
    where = []
    if status:
        where.append(invites.status_clause(status, utcnow()))
    if email:
        where.append(SignupInvite.invited_email == email.strip().lower())
    if request_id:
        where.append(SignupInvite.signup_request_id == request_id)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(SignupInvite).where(*where))
        rows = (
            await s.scalars(
                select(SignupInvite)
                .where(*where)
                .order_by(SignupInvite.created_at.desc(), SignupInvite.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return Page(list(rows), total or 0)


async def revoke(ctx: Context, invite_id: uuid.UUID) -> SignupInvite:
    async with ctx.platform_session() as s:
        row = await s.get(SignupInvite, invite_id)
        if row is None:
            raise NotFound("Invite not found.")
        if row.revoked_at is None:  # revoking twice is harmless and keeps the first time
            row.revoked_at = utcnow()
            await s.commit()
    return row


# -- reads by id, for the graph's nodes and edges ---------------------------------------------


async def requests_by_ids(ctx: Context, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, SignupRequest]:
    """The access requests among `request_ids` (operators holding `auth:signup_requests`)."""
    require_scope(ctx, REQUESTS_SCOPE)
    if not request_ids:
        return {}
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(SignupRequest).where(SignupRequest.id.in_(request_ids)))).all()
    return {row.id: row for row in rows}


async def invites_by_ids(ctx: Context, invite_ids: list[uuid.UUID]) -> dict[uuid.UUID, SignupInvite]:
    """The invites among `invite_ids` (operators holding `auth:invites`)."""
    require_scope(ctx, INVITES_SCOPE)
    if not invite_ids:
        return {}
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(SignupInvite).where(SignupInvite.id.in_(invite_ids)))).all()
    return {row.id: row for row in rows}


async def newest_invites(ctx: Context, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, SignupInvite]:
    """The newest invite issued for each of `request_ids` (absent where there is none), in one query."""
    require_scope(ctx, INVITES_SCOPE)
    if not request_ids:
        return {}
    async with ctx.platform_session() as s:
        rows = (
            await s.scalars(
                select(SignupInvite)
                .where(SignupInvite.signup_request_id.in_(request_ids))
                .order_by(SignupInvite.created_at, SignupInvite.id)
            )
        ).all()
    return {row.signup_request_id: row for row in rows if row.signup_request_id is not None}
