"""Subscriptions to incident alerts (NOTES §9.2): email (verified by a mailed token) and webhook
(verified by a signed challenge POSTed to the target, which proves ownership by echoing it).

Tokens are random and only their SHA-256 is stored. Alerts go out in the background so that an
incident mutation does not wait on subscribers; `resend` returns how many were dispatched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from agentdeck.context import Context, Principal, Services
from agentdeck.db.models.status import StatusIncident, StatusSubscription
from agentdeck.domain.common import notifications
from agentdeck.domain.common.access import client_info, require_principal, scope_granted
from agentdeck.domain.common.limits import EMAIL
from agentdeck.domain.common.pagination import MAX_COUNT, parse_count
from agentdeck.domain.common.results import CursorPage, Page
from agentdeck.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    UpstreamFailed,
)
from agentdeck.providers import webhooks
from agentdeck.providers.mail import Mail

log = logging.getLogger("agentdeck.status")

CHANNELS = ("email", "webhook")
STATUSES = ("pending_verification", "active", "revoked")
SEVERITY_FILTERS = ("all", "major", "maintenance")
TOKEN_TTL = timedelta(minutes=60)
HOUR = 3600
IP_LIMITS = {"email": 5, "webhook": 20}  # per IP per hour (NOTES §10)
MAX_METADATA_BYTES = 4096
_background: set[asyncio.Task] = set()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def masked_target(row: StatusSubscription) -> str:
    """The subscription's target as shown to anyone: enough to recognise, not to read."""
    if row.channel == "email":
        local, _, domain = row.target.partition("@")
        return f"{local[:1]}***@{domain}"
    return row.target[:6] + "…"


def spawn(work: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)  # keep a reference: the loop only holds weak ones
    task.add_done_callback(_background.discard)


async def drain(wait_s: float = 30.0) -> None:
    """Wait for pending deliveries (the CLI, before it exits)."""
    if _background:
        await asyncio.wait(set(_background), timeout=wait_s)


def require_status_manager(ctx: Context) -> Principal:
    """Platform operators (`platform:operator`, held by the bootstrap secret too) and tokens
    granted `status:manage` (or `support:*`) manage incidents and subscriptions."""
    principal = require_principal(ctx)
    if not (scope_granted(principal.scopes, "status:manage") or scope_granted(principal.scopes, "platform:operator")):
        raise Forbidden("Insufficient scopes for this operation.")
    return principal


# Create, verify, revoke, list ----------------------------------------------------------------


def _validate(channel: str, target: str, metadata: Any) -> str:
    problems = []
    target = target.strip()
    if channel == "email":
        target = target.lower()
        if len(target) > 320 or not EMAIL.match(target):
            problems.append({"field": "input.target", "message": "value is not a valid email address"})
    elif not 1 <= len(target) <= 2048:
        problems.append({"field": "input.target", "message": "Webhook URL must be 1-2048 characters."})
    if metadata is not None and (
        not isinstance(metadata, dict) or len(json.dumps(metadata, default=str)) > MAX_METADATA_BYTES
    ):
        problems.append({"field": "input.metadata", "message": f"An object of at most {MAX_METADATA_BYTES} bytes."})
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    return target


async def create(ctx: Context, channel: str, target: str, severity_filter: str, metadata: Any) -> StatusSubscription:
    """A new pending subscription, verified by mail or by a signed challenge. Its webhook secret
    is shown in the answer to this call only."""
    if ctx.auth_error is not None:  # a bearer is optional, but a bad one is refused
        raise ctx.auth_error
    principal = ctx.principal
    target = _validate(channel, target, metadata)
    if channel == "webhook":
        if principal is None:
            raise Unauthenticated("Not authenticated")
        require_status_manager(ctx)
    ip = client_info(ctx)[1]
    decision = await ctx.services.limiter.hit(f"status_sub:{channel}:{ip}", IP_LIMITS[channel], HOUR)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit exceeded. Retry after {decision.retry_after}s.", retry_after=decision.retry_after
        )
    allow_loopback = ctx.settings.status_webhook_allow_loopback
    if channel == "webhook":
        try:
            await webhooks.check_target(target, allow_loopback=allow_loopback)
        except webhooks.UnsafeTarget as exc:
            raise BadRequest(str(exc)) from None
    tenant_id = principal.tenant_id if principal else None
    now = datetime.now(UTC)
    token, unsubscribe = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    secret = secrets.token_hex(32) if channel == "webhook" else None
    async with ctx.platform_session() as s:
        same = (
            StatusSubscription.channel == channel,
            StatusSubscription.target == target,
            StatusSubscription.tenant_id.is_(None) if tenant_id is None else StatusSubscription.tenant_id == tenant_id,
        )
        if await s.scalar(select(StatusSubscription.id).where(*same, StatusSubscription.status == "active")):
            raise Conflict("An active subscription for this target already exists.")
        # A pending one is superseded: its verification mail may have been lost.
        for old in (
            await s.scalars(
                select(StatusSubscription).where(*same, StatusSubscription.status == "pending_verification")
            )
        ).all():
            old.status, old.verify_token_hash, old.updated_at = "revoked", None, now
        row = StatusSubscription(
            channel=channel,
            target=target,
            severity_filter=severity_filter,
            status="pending_verification",
            tenant_id=tenant_id,
            created_by=principal.subject.removeprefix("user:") if principal else "public",
            labels=metadata,
            webhook_secret=secret,
            verify_token_hash=_digest(token),
            verify_expires_at=now + TOKEN_TTL,
            unsubscribe_token_hash=_digest(unsubscribe),
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        await s.commit()
    if channel == "email":
        base = f"{ctx.settings.public_url.rstrip('/')}/status?subscription_id={row.id}"
        await notifications.send_notice(
            ctx.services,
            Mail(
                to=target,
                subject="Confirm your status updates subscription",
                kind="status_subscription",
                text=f"Confirm that you want incident updates from {ctx.settings.status_page_title}:\n\n"
                f"{base}&token={token}\n\nThe link works once and expires in 60 minutes.\n\n"
                f"To unsubscribe at any time:\n{base}&unsubscribe_token={unsubscribe}\n",
            ),
            notifications.ACCOUNT,  # the answer to what was just asked: always sent
        )
    else:
        assert secret is not None
        payload = {"challenge": token, "subscription_id": str(row.id), "timestamp": now.isoformat()}
        delivery = await webhooks.post_signed(target, secret, payload, allow_loopback=allow_loopback)
        if not delivery.ok:
            raise UpstreamFailed("Webhook challenge delivery failed.")
    return row


async def _confirm(ctx: Context, token: str, channel: str, invalid: str) -> StatusSubscription:
    if not token:
        raise InvalidInput(
            "token must not be empty.", details=[{"field": "input.token", "message": "token must not be empty."}]
        )
    async with ctx.platform_session() as s:
        row = await s.scalar(
            select(StatusSubscription).where(
                StatusSubscription.verify_token_hash == _digest(token), StatusSubscription.channel == channel
            )
        )
        if row is None:
            raise NotFound(invalid)
        if row.status == "revoked":
            raise Gone("Subscription has been revoked.")
        now = datetime.now(UTC)
        if row.verify_expires_at is None or row.verify_expires_at <= now:
            raise Gone("Token expired; subscribe again.")
        row.status, row.verify_token_hash, row.verify_expires_at, row.updated_at = "active", None, None, now
        await s.commit()
    return row


async def verify(ctx: Context, token: str) -> StatusSubscription:
    return await _confirm(ctx, token, "email", "Token invalid.")


async def confirm_challenge(ctx: Context, token: str) -> StatusSubscription:
    return await _confirm(ctx, token, "webhook", "Challenge invalid.")


async def revoke(
    ctx: Context, subscription_id: uuid.UUID, token: str | None, *, tenant_scoped: bool = False
) -> StatusSubscription:
    """With the unsubscribe token, or as a status manager. `tenant_scoped` (the GraphQL field):
    a manager who is not a platform operator revokes only its tenant's subscriptions, another
    tenant's is not found; the legacy REST route lets any status manager revoke any one."""
    manager = require_status_manager(ctx) if token is None else None  # 401 without a bearer, 403 without the scope
    async with ctx.platform_session() as s:
        row = await s.get(StatusSubscription, subscription_id)
        if row is None or (
            tenant_scoped and manager is not None and not is_operator(manager) and row.tenant_id != manager.tenant_id
        ):
            raise NotFound("Subscription not found.")
        if token is not None and (
            row.unsubscribe_token_hash is None or not secrets.compare_digest(_digest(token), row.unsubscribe_token_hash)
        ):
            raise BadRequest("Unsubscribe token does not match this subscription.")
        if row.status != "revoked":
            row.status, row.verify_token_hash, row.updated_at = "revoked", None, datetime.now(UTC)
            await s.commit()
    return row


async def list_subscriptions(
    ctx: Context, limit: int, cursor: str | None, tenant_id: uuid.UUID | None, all_tenants: bool
) -> CursorPage[StatusSubscription]:
    require_status_manager(ctx)
    limit = min(max(limit, 1), 100)  # the legacy repository clamps rather than refuses
    try:
        offset = parse_count(cursor) if cursor is not None else 0
    except ValueError:
        message = f"cursor must be an integer from 0 to {MAX_COUNT}."
        raise InvalidInput(message, details=[{"field": "cursor", "message": message}]) from None
    scope = None if all_tenants else (tenant_id or require_principal(ctx).tenant_id)
    where = [StatusSubscription.tenant_id == scope] if scope else []
    async with ctx.platform_session() as s:
        rows = (
            await s.scalars(
                select(StatusSubscription)
                .where(*where)
                .order_by(StatusSubscription.created_at.desc(), StatusSubscription.id)
                .limit(limit + 1)
                .offset(offset)
            )
        ).all()
    more = len(rows) > limit
    return CursorPage(list(rows[:limit]), str(offset + limit) if more else None)


def is_operator(principal: Principal) -> bool:
    return scope_granted(principal.scopes, "platform:operator")


def _visible_to(principal: Principal, all_tenants: bool) -> list[Any]:
    """The subscriptions a status manager sees: its tenant's (those made without a tenant, for a
    caller without one), or every tenant's for a platform operator asking for them."""
    if all_tenants:
        if not is_operator(principal):
            raise Forbidden("Only platform operators list every tenant's subscriptions.")
        return []
    tenant_id = principal.tenant_id
    return [StatusSubscription.tenant_id.is_(None) if tenant_id is None else StatusSubscription.tenant_id == tenant_id]


async def subscriptions_page(
    ctx: Context,
    offset: int,
    limit: int,
    channel: str | None = None,
    status: str | None = None,
    all_tenants: bool = False,
) -> Page[StatusSubscription]:
    """Status managers' view of the subscriptions, newest first, optionally of one channel and
    status; `all_tenants` (platform operators only) lifts the tenant scope."""
    principal = require_status_manager(ctx)
    problems = []
    if channel is not None and channel not in CHANNELS:
        problems.append({"field": "filter.channel", "message": f"Channel must be one of: {', '.join(CHANNELS)}."})
    if status is not None and status not in STATUSES:
        problems.append({"field": "filter.status", "message": f"Status must be one of: {', '.join(STATUSES)}."})
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    where = _visible_to(principal, all_tenants)
    if channel is not None:
        where.append(StatusSubscription.channel == channel)
    if status is not None:
        where.append(StatusSubscription.status == status)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(StatusSubscription).where(*where)) or 0
        rows = (
            await s.scalars(
                select(StatusSubscription)
                .where(*where)
                .order_by(StatusSubscription.created_at.desc(), StatusSubscription.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    return Page(list(rows), total)


async def subscriptions_by_ids(ctx: Context, ids: list[uuid.UUID]) -> list[StatusSubscription | None]:
    """The subscriptions with these ids that the caller (a status manager) may see, in order;
    None for each missing one and for another tenant's (platform operators see every one)."""
    principal = require_status_manager(ctx)
    if not ids:
        return []
    where = [] if is_operator(principal) else _visible_to(principal, False)
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(StatusSubscription).where(StatusSubscription.id.in_(set(ids)), *where))).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


# Alerts --------------------------------------------------------------------------------------


async def dispatch(
    services: Services, incident: StatusIncident, severity: str, tenant_id: uuid.UUID | None = None
) -> int:
    """Send `incident` to every active subscription whose filter matches `severity`."""
    where = [StatusSubscription.status == "active"]
    if severity != "all":
        where.append(or_(StatusSubscription.severity_filter == "all", StatusSubscription.severity_filter == severity))
    if tenant_id is not None:
        where.append(StatusSubscription.tenant_id == tenant_id)
    async with services.db.platform_session() as s:
        rows = (await s.scalars(select(StatusSubscription).where(*where))).all()
    for row in rows:
        spawn(_deliver(services, row, incident))
    return len(rows)


async def _deliver(services: Services, row: StatusSubscription, incident: StatusIncident) -> None:
    try:
        if row.channel == "email":
            link = f"{services.settings.public_url.rstrip('/')}/status"
            # An optional notice: a recipient with an account who turned status alerts off
            # (for the subscription's tenant) is not mailed.
            await notifications.send_notice(
                services,
                Mail(
                    to=row.target,
                    subject=f"[{incident.state}] {incident.service}: {incident.impact}"[:200],
                    kind="status_alert",
                    text=f"{incident.service}: {incident.impact}\nState: {incident.state}\n"
                    f"Since: {incident.occurred_at.isoformat()}\n\nDetails: {link}\n\n"
                    "To stop these mails, use the unsubscribe link from your confirmation mail.\n",
                ),
                notifications.STATUS_ALERTS,
                row.tenant_id,
            )
        else:
            payload = {
                "dispatched_at": datetime.now(UTC).isoformat(),
                "impact": incident.impact,
                "incident_id": str(incident.id),
                "occurred_at": incident.occurred_at.isoformat(),
                "service": incident.service,
                "state": incident.state,
                "subscription_id": str(row.id),
            }
            await webhooks.deliver_with_retries(
                row.target,
                row.webhook_secret or "",
                payload,
                allow_loopback=services.settings.status_webhook_allow_loopback,
            )
    except Exception:  # noqa: BLE001 - one subscriber's failure must not affect the others
        log.exception("status alert to subscription %s failed", row.id)


async def resend(ctx: Context, incident_id: uuid.UUID, severity: str, tenant_id: uuid.UUID | None) -> int:
    """Send an incident to the matching subscribers again; how many it was sent to."""
    require_status_manager(ctx)
    async with ctx.platform_session() as s:
        row = await s.get(StatusIncident, incident_id)
    if row is None:
        raise NotFound("Incident not found.")
    return await dispatch(ctx.services, row, severity, tenant_id)
