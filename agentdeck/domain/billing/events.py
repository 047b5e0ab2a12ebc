"""Payment events: the Stripe webhook, the local provider's synthetic events, retries, history,
and the live stream.

Every event, whatever its source, goes through `ingest`: stored once by its id, handled, then
published on the bus channel `billing:<tenant>` so that subscribers on every process see it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import BillingPlan, StripeEvent, TenantSubscription
from agentdeck.db.session import rowcount
from agentdeck.domain.billing.gate import billing_tenant
from agentdeck.domain.billing.plans import price_map
from agentdeck.domain.billing.stripe_objects import from_ts, normalize, subscription_fields
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor, identifier, timestamp
from agentdeck.domain.common.results import CursorPage, Page
from agentdeck.errors import DomainError, RateLimited
from agentdeck.providers.ratelimit import held_slot

log = logging.getLogger("agentdeck.billing")
SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
INVOICE_EVENTS = {
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.paid",
    "invoice.finalized",
    "invoice.payment_action_required",
}
OUTCOMES = ("received", "processed", "failed")
STALE = "stale: newer state already applied"
CLAIM_SECONDS = timedelta(minutes=5)  # a retry taken by a process that died is retried after this


@dataclass(frozen=True)
class WebhookReceipt:
    success: bool
    duplicate: bool


def channel(tenant_id: uuid.UUID | str) -> str:
    return f"billing:{tenant_id}"


def retry_delay(attempts: int) -> timedelta:
    """30 s × 2^(n-1), capped at 10 minutes (NOTES §6)."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 600))


def webhook_error(code: str, message: str) -> DomainError:
    return DomainError(message, code=code)


# The webhook ------------------------------------------------------------------------------------


async def handle_stripe_webhook(ctx: Context, raw: bytes, signature: str | None) -> WebhookReceipt:
    import stripe

    secret = ctx.settings.stripe_webhook_secret
    if not secret:
        raise webhook_error("StripeWebhookNotConfigured", "Stripe webhook secret is not configured.")
    if not signature:
        raise webhook_error("MissingStripeSignature", "Missing Stripe-Signature header.")
    try:
        stripe.WebhookSignature.verify_header(
            raw.decode("utf-8", "replace"), signature, secret, ctx.settings.stripe_webhook_tolerance_seconds
        )
    except stripe.SignatureVerificationError:
        raise webhook_error("InvalidStripeSignature", "Invalid Stripe signature.") from None
    try:
        event = orjson.loads(raw)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise ValueError("not a Stripe event")
    except ValueError:
        raise webhook_error("InvalidStripePayload", "Invalid Stripe payload.") from None
    duplicate = await ingest(ctx, event)
    return WebhookReceipt(success=True, duplicate=duplicate)


def _tenant_hint(event: dict[str, Any]) -> uuid.UUID | None:
    metadata = ((event.get("data") or {}).get("object") or {}).get("metadata") or {}
    raw = metadata.get("tenant_id") or metadata.get("tenant")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def ingest(ctx: Context, event: dict[str, Any]) -> bool:
    """Store, handle and publish one event; True when it had been received before.

    The common case is one transaction: the insert (which detects a duplicate) and the handler's
    changes commit together. A failing handler rolls both back; the event is then stored as
    failed on its own, so that it is retried.
    """
    tenant_id = _tenant_hint(event)
    prices = await price_map(ctx)
    try:
        normalized = normalize(event, tenant_id, prices)
    except LookupError:
        normalized = None

    def new_row() -> StripeEvent:
        return StripeEvent(
            stripe_event_id=str(event["id"]),
            event_type=str(event["type"]),
            payload=event,
            tenant_id=tenant_id,
            stripe_created_at=from_ts(event.get("created")) or datetime.now(UTC),
            normalized=normalized,
            processing_outcome="received",
            processing_attempts=0,
        )

    row, failure = new_row(), None
    async with ctx.platform_session() as s:
        s.add(row)
        try:
            await s.flush()
        except IntegrityError:
            return True
        try:
            _processed(row, await _handle(s, row, prices))
            await s.commit()
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried
            await s.rollback()
            failure = exc
    if failure is not None:
        async with ctx.platform_session() as s:
            row = new_row()
            _failed(row, failure)
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:  # delivered concurrently; that delivery owns the outcome
                return True
        raise webhook_error("StripeWebhookProcessingFailed", "Stripe webhook processing failed.") from failure
    await _publish(ctx, row)
    return False


def _processed(row: StripeEvent, applied: bool) -> None:
    row.processing_attempts += 1
    row.processing_outcome, row.processed_at = "processed", datetime.now(UTC)
    row.processing_error = None if applied else STALE
    row.next_retry_at = None


def _failed(row: StripeEvent, exc: BaseException) -> None:
    log.warning("billing event %s (%s) failed: %r", row.stripe_event_id, row.event_type, exc)
    row.processing_attempts += 1
    row.processing_outcome, row.processing_error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    row.next_retry_at = datetime.now(UTC) + retry_delay(row.processing_attempts)


async def dispatch(ctx: Context, event_pk: uuid.UUID, prices: dict[str, str]) -> None:
    """Run a stored event's handler again (retries); failures are recorded with the next backoff."""
    try:
        async with ctx.platform_session() as s:
            row = await s.get(StripeEvent, event_pk)
            assert row is not None
            _processed(row, await _handle(s, row, prices))
            await s.commit()
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried
        async with ctx.platform_session() as s:
            row = await s.get(StripeEvent, event_pk)
            assert row is not None
            _failed(row, exc)
            await s.commit()
        raise webhook_error("StripeWebhookProcessingFailed", "Stripe webhook processing failed.") from exc
    await _publish(ctx, row)


async def _publish(ctx: Context, row: StripeEvent) -> None:
    """Broadcast a handled event to the tenant's subscribers (stale events are history only)."""
    if row.processing_error == STALE or not (row.tenant_id and row.normalized and ctx.settings.enable_billing_stream):
        return
    try:
        await ctx.bus.publish(channel(row.tenant_id), row.normalized)
    except Exception as exc:  # noqa: BLE001
        async with ctx.platform_session() as s:
            failed = await s.get(StripeEvent, row.id)
            if failed is not None:
                _failed(failed, exc)
                await s.commit()
        raise webhook_error("StripeBillingStreamPublishFailed", "Billing stream publish failed.") from exc


async def _handle(s: AsyncSession, row: StripeEvent, prices: dict[str, str]) -> bool:
    """Apply the event; False when it is older than the state already applied (out of order)."""
    if row.event_type in INVOICE_EVENTS:
        if row.normalized is None:
            raise LookupError("invoice event could not be normalised")
        return True
    if row.event_type not in SUBSCRIPTION_EVENTS:
        return True  # stored, no handler
    obj = row.payload["data"]["object"]
    fields = subscription_fields(obj, prices)
    if await s.get(BillingPlan, fields["plan_code"]) is None:
        raise LookupError(f"unknown plan '{fields['plan_code']}'")
    query = select(TenantSubscription)
    query = (
        query.where(TenantSubscription.tenant_id == row.tenant_id)
        if row.tenant_id
        else query.where(TenantSubscription.subscription_ref == obj.get("id"))
    )
    sub = await s.scalar(query)
    if sub is None:
        if row.tenant_id is None:
            raise LookupError(f"no tenant for subscription {obj.get('id')}")
        sub = TenantSubscription(
            tenant_id=row.tenant_id,
            starts_at=row.stripe_created_at,
            processor="stripe",
            metadata_={},
            state_at=row.stripe_created_at,
        )
        s.add(sub)
    elif row.stripe_created_at < sub.state_at:
        return False
    if row.event_type == "customer.subscription.deleted":
        fields["status"], fields["auto_renew"] = "canceled", False
    for name, value in fields.items():
        if value is not None or name in ("cancel_at", "trial_ends_at"):
            setattr(sub, name, value)
    sub.state_at = row.stripe_created_at
    return True


async def retry_due(ctx: Context, limit: int = 50) -> int:
    """Re-run the handlers of failed events whose backoff has elapsed; returns how many ran."""
    async with ctx.platform_session() as s:
        due = list(
            await s.scalars(
                select(StripeEvent.id)
                .where(StripeEvent.processing_outcome == "failed", StripeEvent.next_retry_at <= datetime.now(UTC))
                .limit(limit)
            )
        )
    prices = await price_map(ctx) if due else {}
    for pk in due:
        if not await _claim(ctx, pk):
            continue  # another process's worker took it
        try:
            await dispatch(ctx, pk, prices)
        except DomainError:
            pass  # recorded with the next backoff
    return len(due)


async def _claim(ctx: Context, pk: uuid.UUID) -> bool:
    """Take a due event for this process: every process's worker finds the same due events, and
    the conditional UPDATE lets exactly one of them run each (the others see it no longer due).
    Its next retry is pushed back meanwhile, so that if this process dies, another retries it."""
    now = datetime.now(UTC)
    async with ctx.platform_session() as s:
        taken = await s.execute(
            update(StripeEvent)
            .where(StripeEvent.id == pk, StripeEvent.processing_outcome == "failed", StripeEvent.next_retry_at <= now)
            .values(next_retry_at=now + CLAIM_SECONDS)
            .execution_options(synchronize_session=False)
        )
        await s.commit()
    return rowcount(taken) == 1


# History ----------------------------------------------------------------------------------------


# The last event's receipt moment and id: what the next page continues after.
HISTORY_CURSOR = {"r": timestamp, "e": identifier}


def _history(tenant_id: uuid.UUID, event_type: str | None, processing_status: str | None) -> Select[StripeEvent]:
    query = select(StripeEvent).where(StripeEvent.tenant_id == tenant_id)
    if event_type:
        query = query.where(StripeEvent.event_type == event_type)
    if processing_status:
        query = query.where(StripeEvent.processing_outcome == processing_status)
    return query


NEWEST_FIRST = (StripeEvent.received_at.desc(), StripeEvent.id.desc())


async def event_history(
    ctx: Context, tenant_id: str, limit: int, cursor: str | None, event_type: str | None, processing_status: str | None
) -> CursorPage[dict[str, Any]]:
    """The tenant's events, newest first, in the documented shape (`stripe_objects.normalize`);
    an event that could not be normalised is shown bare, with its processing error."""
    tc = await billing_tenant(ctx, tenant_id)
    query = _history(tc.tenant_id, event_type, processing_status)
    if (position := decode_cursor(cursor, HISTORY_CURSOR)) is not None:
        at, pk = position["r"], position["e"]
        query = query.where(or_(StripeEvent.received_at < at, and_(StripeEvent.received_at == at, StripeEvent.id < pk)))
    query = query.order_by(*NEWEST_FIRST).limit(limit + 1)
    async with ctx.platform_session() as s:
        rows = list(await s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [document(r) for r in rows]
    return CursorPage(
        items, encode_cursor({"r": rows[-1].received_at.isoformat(), "e": str(rows[-1].id)}) if more else None
    )


async def event_page(
    ctx: Context,
    tenant_id: str | None,
    offset: int,
    limit: int,
    event_type: str | None = None,
    processing_status: str | None = None,
) -> Page[StripeEvent]:
    """The tenant's stored events, newest first, one page by offset (`tenant_id`, when given,
    must be the tenant the request acts in)."""
    tc = await billing_tenant(ctx, tenant_id)
    query = _history(tc.tenant_id, event_type, processing_status)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery()))
        rows = await s.scalars(query.order_by(*NEWEST_FIRST).offset(offset).limit(limit))
        return Page(list(rows), int(total or 0))


async def events_by_ids(ctx: Context, ids: Sequence[str]) -> list[StripeEvent | None]:
    """The tenant's events with these ids (of the stored row), in order; None for another
    tenant's or a missing one."""
    tc = await billing_tenant(ctx, None)
    wanted = {i: pk for i in ids if (pk := _as_uuid(i)) is not None}
    if not wanted:
        return [None for _ in ids]
    query = select(StripeEvent).where(StripeEvent.tenant_id == tc.tenant_id, StripeEvent.id.in_(set(wanted.values())))
    async with ctx.platform_session() as s:
        rows = {row.id: row for row in await s.scalars(query)}
    return [rows.get(wanted[i]) if i in wanted else None for i in ids]


async def event_by_provider_id(ctx: Context, stripe_event_id: str) -> StripeEvent | None:
    """The tenant's stored event with this provider id (what the live stream carries)."""
    tc = await billing_tenant(ctx, None, feature="billing_stream")
    query = select(StripeEvent).where(
        StripeEvent.tenant_id == tc.tenant_id, StripeEvent.stripe_event_id == stripe_event_id
    )
    async with ctx.platform_session() as s:
        return await s.scalar(query)


def _as_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def document(row: StripeEvent) -> dict[str, Any]:
    """A stored event in the documented shape: normalised, or bare with its processing error."""
    return row.normalized or _bare(row)


def _bare(row: StripeEvent) -> dict[str, Any]:
    return {
        "tenant_id": str(row.tenant_id),
        "event_type": row.event_type,
        "stripe_event_id": row.stripe_event_id,
        "occurred_at": row.stripe_created_at.isoformat(),
        "summary": row.processing_error,
        "status": row.processing_outcome,
    }


# The live stream --------------------------------------------------------------------------------


async def billing_stream(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """The tenant's events as they are handled, in the documented shape (as `event_history`)."""
    tc = await billing_tenant(ctx, None, feature="billing_stream")
    settings = ctx.settings
    decision = await ctx.services.limiter.hit(f"billing-stream:{tc.tenant_id}", settings.billing_stream_per_minute, 60)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit exceeded ({settings.billing_stream_per_minute} per minute). "
            f"Retry after {decision.retry_after}s.",
            retry_after=decision.retry_after,
        )
    cap = settings.billing_stream_concurrency
    async with held_slot(ctx.services.limiter, f"billing-stream-slot:{tc.tenant_id}", cap) as held:
        if not held:
            raise RateLimited(f"Rate limit exceeded ({cap} concurrent streams). Retry after 5s.", retry_after=5)
        async with ctx.bus.subscribe(channel(tc.tenant_id)) as messages:
            async for message in messages:
                yield message
