"""A tenant's subscription: start, read, change, cancel, through the configured payment provider.

Starting one takes an idempotency key (`domain/common/idempotency.py`); a retry gets the answer its
first request got (stored with the subscription's row, in one transaction), not a 409.

Every operation answers with the subscription's row (for a retry, the row as the first request
left it, not stored again).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agentdeck.context import Context
from agentdeck.db.models import BillingPlan, TenantSubscription
from agentdeck.domain import activity
from agentdeck.domain.billing import events
from agentdeck.domain.billing.gate import billing_tenant
from agentdeck.domain.billing.plans import get_plan, plan_ref, price_map
from agentdeck.domain.billing.stripe_objects import subscription_fields
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.limits import EMAIL
from agentdeck.errors import (
    BadRequest,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    UpstreamFailed,
)
from agentdeck.providers.payments import Current, PaymentProvider, StripeObject

MAX_SEATS = 100_000
ENDED = ("canceled", "incomplete_expired")
# The answer a retry of start_subscription replays is kept with its key as JSON: these columns,
# the tenant's id and `metadata`.
ANSWER_VALUES = (
    "plan_code",
    "status",
    "auto_renew",
    "billing_email",
    "seat_count",
    "pending_plan_code",
    "pending_seat_count",
)
ANSWER_TIMES = (
    "starts_at",
    "current_period_start",
    "current_period_end",
    "trial_ends_at",
    "cancel_at",
    "pending_plan_effective_at",
)


def _provider(ctx: Context) -> PaymentProvider:
    return ctx.services.payments


def _current(row: TenantSubscription) -> Current:
    return Current(
        row.subscription_ref,
        row.customer_ref,
        row.status,
        row.current_period_start,
        row.current_period_end,
        row.trial_ends_at,
    )


def _answer(row: TenantSubscription) -> dict[str, Any]:
    times = {name: _iso(getattr(row, name)) for name in ANSWER_TIMES}
    return {
        "tenant_id": str(row.tenant_id),
        **{name: getattr(row, name) for name in ANSWER_VALUES},
        **times,
        "metadata": dict(row.metadata_ or {}),
    }


def _replayed(answer: dict[str, Any], resource: dict[str, Any] | None) -> TenantSubscription:
    """The first request's answer as a row of its own (never added to a session), with the id
    of the subscription it created."""
    times = {name: _time(answer[name]) for name in ANSWER_TIMES}
    created = (resource or {}).get("subscription_id")
    return TenantSubscription(
        id=uuid.UUID(created) if created else None,
        tenant_id=uuid.UUID(answer["tenant_id"]),
        metadata_=answer["metadata"],
        **{name: answer[name] for name in ANSWER_VALUES},
        **times,
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _validate(email: str | None, seat_count: int | None) -> None:
    problems = []
    if email is not None and not EMAIL.match(email):
        problems.append({"field": "input.billing_email", "message": "value is not a valid email address"})
    if seat_count is not None and not 0 < seat_count <= MAX_SEATS:
        problems.append(
            {
                "field": "input.seat_count",
                "type": "greater_than",
                "message": f"Seat count must be between 1 and {MAX_SEATS}.",
            }
        )
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def _call(call: Any) -> StripeObject:
    """Provider failures are the payment service's, not the caller's: 502 with the reason."""
    try:
        return await call
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - SDK and network errors
        raise UpstreamFailed(f"Payment provider error: {getattr(exc, 'user_message', None) or exc}") from exc


async def _apply(
    ctx: Context,
    tenant_id: uuid.UUID,
    obj: StripeObject,
    event_type: str,
    extra: dict[str, Any] | None = None,
    claim: idempotency.Claim | None = None,
) -> TenantSubscription:
    """Write the provider's answer; with the local provider also record the event Stripe would send.
    `claim`: the idempotency key of the request, recorded with the row and the answer."""
    now = datetime.now(UTC).replace(microsecond=0)  # events carry whole seconds
    fields = subscription_fields(obj, await price_map(ctx))
    async with ctx.session() as s:
        row = await s.scalar(select(TenantSubscription))
        if row is None:
            row = TenantSubscription(starts_at=now, metadata_={}, processor=_provider(ctx).name)
            s.add(row)
        for name, value in {**fields, **(extra or {})}.items():
            setattr(row, name, value)
        row.state_at = now
        await s.flush()  # the row's id and tenant are set: the answer is known
        _record(ctx, s, row, event_type)
        if claim is not None:
            await claim.attach(s, {"subscription_id": str(row.id)}, _answer(row))
        await s.commit()
    if _provider(ctx).emits_events:
        event = {
            "id": f"evt_local_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "created": int(now.timestamp()),
            "livemode": False,
            "data": {"object": obj},
        }
        await events.ingest(ctx, event)
    return row


ACTIVITY = {
    "customer.subscription.created": "billing.subscription.created",
    "customer.subscription.updated": "billing.subscription.updated",
    "customer.subscription.deleted": "billing.subscription.cancelled",
}


def _record(ctx: Context, s: Any, row: TenantSubscription, event_type: str) -> None:
    """The change in the tenant's activity feed, with the subscription's state after it."""
    activity.record(
        ctx,
        s,
        ACTIVITY[event_type],
        object_type="subscription",
        object_id=row.id,
        object_name=row.plan_code,
        metadata={"plan_code": row.plan_code, "status": row.status, "seat_count": row.seat_count},
    )


async def _existing(ctx: Context) -> TenantSubscription:
    async with ctx.session() as s:
        row = await s.scalar(select(TenantSubscription))
    if row is None:
        raise NotFound("Subscription not found.")
    return row


async def find_subscription(ctx: Context, tenant_id: uuid.UUID | None = None) -> TenantSubscription | None:
    """The subscription of the tenant the request acts in (for an operator, the one named by
    `X-Tenant-Id`), None when it has none. Given `tenant_id`, None too for any other tenant: a
    caller reads the billing of the tenant it acts in only."""
    tc = await billing_tenant(ctx, None)
    if tenant_id is not None and tenant_id != tc.tenant_id:
        return None
    async with ctx.session() as s:
        return await s.scalar(select(TenantSubscription))


async def subscriptions_by_ids(ctx: Context, ids: Sequence[str]) -> list[TenantSubscription | None]:
    """The subscriptions with these ids, in order; None for an id that is not the caller's
    tenant's subscription (a tenant has one)."""
    row = await find_subscription(ctx)
    return [row if row is not None and _uuid(i) == row.id else None for i in ids]


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def get_subscription(ctx: Context, tenant_id: str) -> TenantSubscription:
    await billing_tenant(ctx, tenant_id)
    return await _existing(ctx)


async def start_subscription(
    ctx: Context,
    tenant_id: str | None,
    plan_code: str,
    billing_email: str | None,
    auto_renew: bool,
    seat_count: int | None,
    idem: idempotency.Idempotency = idempotency.NO_KEY,
) -> TenantSubscription:
    tc = await billing_tenant(ctx, tenant_id, "admin")
    _validate(billing_email, seat_count)
    plan = await get_plan(ctx, plan_code)
    async with idempotency.claim(ctx, "start_subscription", idem) as claim:
        if claim.response is not None:
            return _replayed(claim.replay(dict), claim.resource)
        return await _start(ctx, tc.tenant_id, plan, billing_email, auto_renew, seat_count, claim)


async def _start(
    ctx: Context,
    tenant_id: uuid.UUID,
    plan: BillingPlan,
    billing_email: str | None,
    auto_renew: bool,
    seat_count: int | None,
    claim: idempotency.Claim,
) -> TenantSubscription:
    async with ctx.session() as s:
        row = await s.scalar(select(TenantSubscription))
    if row is not None and row.status not in ENDED:
        raise Conflict("Tenant already has an active subscription; change or cancel it instead.")
    seats = seat_count or plan.seat_included or 1
    obj = await _call(
        _provider(ctx).start(
            tenant_id=tenant_id, plan=plan_ref(plan), seat_count=seats, email=billing_email, auto_renew=auto_renew
        )
    )
    extra = {
        "billing_email": billing_email,
        "starts_at": datetime.now(UTC),
        "processor": _provider(ctx).name,
        "pending_plan_code": None,
        "pending_plan_effective_at": None,
        "pending_seat_count": None,
    }
    return await _apply(ctx, tenant_id, obj, "customer.subscription.created", extra, claim)


async def update_subscription(
    ctx: Context,
    tenant_id: str | None,
    auto_renew: bool | None,
    billing_email: str | None,
    seat_count: int | None,
    plan_code: str | None,
) -> TenantSubscription:
    tc = await billing_tenant(ctx, tenant_id, "admin")
    if auto_renew is None and billing_email is None and seat_count is None and plan_code is None:
        raise BadRequest("No subscription changes were provided.")
    _validate(billing_email, seat_count)
    row = await _existing(ctx)
    if row.status in ENDED:
        raise Conflict("Subscription is canceled; start a new one.")
    plan = await get_plan(ctx, plan_code or row.plan_code, active_only=plan_code is not None)
    seats = seat_count or row.seat_count or plan.seat_included or 1
    renew = row.auto_renew if auto_renew is None else auto_renew
    extra = {"billing_email": billing_email} if billing_email is not None else {}
    if auto_renew is None and seat_count is None and plan_code is None:  # contact change only
        async with ctx.session() as s:
            current = await s.scalar(select(TenantSubscription))
            assert current is not None
            current.billing_email = billing_email
            _record(ctx, s, current, "customer.subscription.updated")
            await s.commit()
            return current
    obj = await _call(
        _provider(ctx).update(
            _current(row), tenant_id=tc.tenant_id, plan=plan_ref(plan), seat_count=seats, auto_renew=renew
        )
    )
    return await _apply(ctx, tc.tenant_id, obj, "customer.subscription.updated", extra)


async def cancel_subscription(ctx: Context, tenant_id: str | None, cancel_at_period_end: bool) -> TenantSubscription:
    tc = await billing_tenant(ctx, tenant_id, "admin")
    row = await _existing(ctx)
    if row.status in ENDED:
        raise Conflict("Subscription is already canceled.")
    plan = await get_plan(ctx, row.plan_code, active_only=False)
    obj = await _call(
        _provider(ctx).cancel(
            _current(row),
            tenant_id=tc.tenant_id,
            plan=plan_ref(plan),
            seat_count=row.seat_count or 1,
            at_period_end=cancel_at_period_end,
        )
    )
    kind = "customer.subscription.updated" if cancel_at_period_end else "customer.subscription.deleted"
    return await _apply(ctx, tc.tenant_id, obj, kind)
