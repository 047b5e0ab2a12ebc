"""Metered usage: recorded once per idempotency key, totalled per billing period, checked
against the plan's hard limits (`check_usage_limit`, which chat calls before a turn).

The key may come in the body (`idempotency_key`, the legacy field) or as the request's
idempotency key (REST `Idempotency-Key`, GraphQL `idempotencyKey`): it is one key, with the
semantics of `domain/common/idempotency.py` either way, and it is also the record's own key (kept
with the record, so a repeat after the idempotency key has expired still records nothing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import ChatRun, StorageObject, Tenant, TenantSubscription, UsageRecord, WorkflowRun
from agentdeck.db.session import execute_core, lock_row, session_tenant
from agentdeck.domain.billing.gate import billing_tenant
from agentdeck.domain.billing.plans import get_plan
from agentdeck.domain.catalog import WORKFLOWS
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.access import require_role, tenant_context
from agentdeck.domain.common.results import Outcome
from agentdeck.errors import DomainError, InvalidInput
from agentdeck.providers.payments import Current, add_interval

FEATURE_KEY_MAX, QUANTITY_MAX = 64, 10**12
METERED_FEATURE = "messages"  # plan feature counting agent turns (a chat turn, a workflow step)
RECORDED = "Usage recorded."


@dataclass(frozen=True)
class PeriodUsage:
    """What a tenant used in one billing period, feature by feature."""

    start: datetime
    end: datetime
    used: dict[str, int]  # units per feature key, in key order: every feature used or in the plan
    features: dict[str, dict[str, Any]]  # the plan's features (`billing_plans.json`) by key


class UsageLimitExceeded(DomainError):
    code = "usage_limit_exceeded"


def _window(sub: TenantSubscription | None, now: datetime) -> tuple[datetime, datetime]:
    """The subscription's current period, or the calendar month without one."""
    if sub and sub.current_period_start and sub.current_period_end and sub.current_period_start <= now:
        if now < sub.current_period_end:
            return sub.current_period_start, sub.current_period_end
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, add_interval(start, "month")


def _validate(feature_key: str, quantity: int, start: datetime | None, end: datetime | None) -> None:
    problems = []
    if not 1 <= len(feature_key) <= FEATURE_KEY_MAX:
        problems.append(
            {"field": "input.feature_key", "message": f"feature_key must be 1-{FEATURE_KEY_MAX} characters."}
        )
    if not 0 < quantity <= QUANTITY_MAX:
        problems.append(
            {"field": "input.quantity", "type": "greater_than", "message": "Input should be greater than 0"}
        )
    if (start is None) != (end is None) or (start and end and end <= start):
        problems.append(
            {"field": "input.period_end", "message": "Give both period_start and period_end, end after start."}
        )
    for name, value in (("period_start", start), ("period_end", end)):
        if value is not None and value.tzinfo is None:
            problems.append({"field": f"input.{name}", "message": "Datetime must include a timezone."})
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def _subscription(ctx: Context) -> TenantSubscription | None:
    async with ctx.session() as s:
        return await s.scalar(select(TenantSubscription))


def one_key(body_key: str | None, idem: idempotency.Idempotency) -> idempotency.Idempotency:
    """The request's key, sent as the idempotency key, in the body, or both (then the same)."""
    if body_key is None or body_key == idem.key:
        return idem
    if idem.key is not None:
        message = "The idempotency key and the body's idempotency_key differ; send one key."
        raise InvalidInput(message, details=[{"field": "input.idempotency_key", "message": message}])
    return replace(idem, key=body_key, field="input.idempotency_key")


async def record_usage(
    ctx: Context,
    tenant_id: str | None,
    feature_key: str,
    quantity: int,
    idempotency_key: str | None,
    period_start: datetime | None,
    period_end: datetime | None,
    idem: idempotency.Idempotency = idempotency.NO_KEY,
) -> Outcome[None]:
    await billing_tenant(ctx, tenant_id, "admin")
    idem = one_key(idempotency_key, idem)
    _validate(feature_key, quantity, period_start, period_end)
    async with idempotency.claim(ctx, "record_usage", idem) as claim:
        if claim.first:
            await _record(ctx, claim, feature_key, quantity, idem.key, period_start, period_end)
    return Outcome(RECORDED, None)  # also a retry's: recorded by its first request


async def _record(
    ctx: Context,
    claim: idempotency.Claim,
    feature_key: str,
    quantity: int,
    key: str | None,
    period_start: datetime | None,
    period_end: datetime | None,
) -> None:
    now = datetime.now(UTC)
    sub = await _subscription(ctx)
    if period_start is None or period_end is None:
        period_start, period_end = _window(sub, now)
    async with ctx.session() as s:
        if key and await _recorded(s, claim, key):
            return  # recorded under this key before its idempotency key expired
    if sub is not None:
        current = Current(
            sub.subscription_ref,
            sub.customer_ref,
            sub.status,
            sub.current_period_start,
            sub.current_period_end,
            sub.trial_ends_at,
        )
        # The provider deduplicates by the same key, so a retry after a crash here is safe.
        await ctx.services.payments.report_usage(
            current, feature_key=feature_key, quantity=quantity, idempotency_key=key, at=now
        )
    async with ctx.session() as s:
        record = UsageRecord(
            id=uuid.uuid4(),
            feature_key=feature_key,
            quantity=quantity,
            idempotency_key=key,
            period_start=period_start.astimezone(UTC),
            period_end=period_end.astimezone(UTC),
        )
        s.add(record)
        await claim.attach(s, {"usage_record_id": str(record.id)})
        try:
            await s.commit()
        except IntegrityError:  # the same key, concurrently, from another caller of this tenant
            await s.rollback()
            if not await _recorded(s, claim, key or ""):
                raise


async def _recorded(s: AsyncSession, claim: idempotency.Claim, key: str) -> bool:
    """Whether a record with this key exists; if so, it is what the claim's key names."""
    existing = await s.scalar(select(UsageRecord.id).where(UsageRecord.idempotency_key == key))
    if existing is not None:
        await claim.attach(s, {"usage_record_id": str(existing)})
        await s.commit()
    return existing is not None


async def _total(ctx: Context, feature_key: str, start: datetime, end: datetime) -> int:
    async with ctx.session() as s:
        return int(
            await s.scalar(
                select(func.coalesce(func.sum(UsageRecord.quantity), 0)).where(
                    UsageRecord.feature_key == feature_key,
                    UsageRecord.period_start >= start,
                    UsageRecord.period_start < end,
                )
            )
            or 0
        )


async def _features(ctx: Context, sub: TenantSubscription | None) -> dict[str, dict[str, Any]]:
    """The features of the subscription's plan by key (none without a subscription)."""
    if sub is None:
        return {}
    plan = await get_plan(ctx, sub.plan_code, active_only=False)
    return {f["key"]: f for f in plan.features}


async def usage_totals(ctx: Context, tenant_id: str | None) -> PeriodUsage:
    """What the tenant used in the current billing period (its subscription's, else the calendar
    month), per feature; `tenant_id`, when given, must be the tenant the request acts in."""
    await billing_tenant(ctx, tenant_id)
    sub = await _subscription(ctx)
    start, end = _window(sub, datetime.now(UTC))
    features = await _features(ctx, sub)
    async with ctx.session() as s:
        keys = set(
            await s.scalars(
                select(UsageRecord.feature_key)
                .where(UsageRecord.period_start >= start, UsageRecord.period_start < end)
                .distinct()
            )
        )
    used = {key: await _total(ctx, key, start, end) for key in sorted(keys | set(features))}
    return PeriodUsage(start, end, used, features)


async def check_usage_limit(ctx: Context, feature_key: str, adding: int = 1) -> None:
    """Refuse (429 `usage_limit_exceeded`) when `adding` more units would pass the plan's hard limit.

    A look without a lock, for a caller that records nothing: one that starts metered work
    calls `reserve_usage` in the transaction that starts it instead.
    """
    limit = await _hard_limit(ctx, feature_key)
    if limit is not None:
        async with ctx.session() as s:
            await _refuse_beyond(s, limit, adding)


@dataclass(frozen=True)
class _Limit:
    tenant_id: uuid.UUID
    plan_code: str
    feature_key: str
    hard_limit: int
    start: datetime
    end: datetime


_UNREAD: Any = object()
# `reserve_usage`'s statements, built once (see `execute_core`).
_subscriptions = cast(Table, TenantSubscription.__table__)
_PERIOD = (
    select(_subscriptions.c.plan_code, _subscriptions.c.current_period_start, _subscriptions.c.current_period_end)
    .where(_subscriptions.c.tenant_id == bindparam("p_tenant", type_=_subscriptions.c.tenant_id.type))
    .limit(1)
)
_RECORD = insert(cast(Table, UsageRecord.__table__))


async def _hard_limit(ctx: Context, feature_key: str, sub: TenantSubscription | None = _UNREAD) -> _Limit | None:
    """The plan's hard limit on `feature_key` in the current period, or None (not limited);
    `sub`: the tenant's subscription (None: it has none) when the caller has read it already."""
    if not (ctx.settings.enable_billing and ctx.settings.enable_usage_guardrails):
        return None
    tc = await tenant_context(ctx)
    if sub is _UNREAD:
        sub = await _subscription(ctx)
    hard_limit = (await _features(ctx, sub)).get(feature_key, {}).get("hard_limit")
    if sub is None or hard_limit is None:
        return None
    start, end = _window(sub, datetime.now(UTC))
    return _Limit(tc.tenant_id, sub.plan_code, feature_key, hard_limit, start, end)


async def _refuse_beyond(s: AsyncSession, limit: _Limit, adding: int) -> None:
    used = await _used(s, limit.feature_key, limit.start, limit.end)
    if used + adding > limit.hard_limit:
        raise UsageLimitExceeded(
            f"Usage limit exceeded for '{limit.feature_key}' on plan '{limit.plan_code}': "
            f"{used} of {limit.hard_limit}.",
            details={
                "tenant_id": str(limit.tenant_id),
                "plan_code": limit.plan_code,
                "feature_key": limit.feature_key,
                "limit_type": "hard_limit",
                "limit_value": limit.hard_limit,
                "usage": used,
                "unit": "units",
                "window_start": limit.start.isoformat(),
                "window_end": limit.end.isoformat(),
            },
        )


async def _used(s: AsyncSession, feature_key: str, start: datetime, end: datetime) -> int:
    """Units recorded in the period, plus those held by workflow runs still running (their
    steps are metered when the run ends)."""
    recorded = int(
        await s.scalar(
            select(func.coalesce(func.sum(UsageRecord.quantity), 0)).where(
                UsageRecord.feature_key == feature_key,
                UsageRecord.period_start >= start,
                UsageRecord.period_start < end,
            )
        )
        or 0
    )
    if feature_key != METERED_FEATURE:
        return recorded
    running = await s.scalars(select(WorkflowRun.workflow_key).where(WorkflowRun.status == "running"))
    return recorded + sum(WORKFLOWS[k].step_count for k in running if k in WORKFLOWS)


async def reserve_usage(ctx: Context, s: AsyncSession, feature_key: str, quantity: int, *, record: bool) -> None:
    """In the caller's transaction `s`, which then starts the metered work: refuse with
    `usage_limit_exceeded` when `quantity` more would pass the plan's hard limit, and with
    `record`, record the usage at once (a chat turn; a workflow run is held by its running row
    instead, and meters the steps it ran when it ends).

    Against a hard limit, the tenant row is locked first, so that of concurrent callers each
    counts what the ones before it recorded: two cannot both take the last unit."""
    # In the caller's transaction (no session of its own), the columns the period and the plan's
    # limit are read from, as a row (read as the model is: `_window`, `_hard_limit`).
    tenant = session_tenant(s)
    found = (await execute_core(s, _PERIOD, {"p_tenant": tenant})).first()
    sub = cast("TenantSubscription | None", found)
    limit = await _hard_limit(ctx, feature_key, sub)
    if limit is not None:
        await lock_row(s, Tenant, limit.tenant_id)
        await _refuse_beyond(s, limit, quantity)
    if record:
        start, end = (limit.start, limit.end) if limit else _window(sub, datetime.now(UTC))
        usage = {
            "id": uuid.uuid4(),
            "feature_key": feature_key,
            "quantity": quantity,
            "idempotency_key": None,
            "period_start": start.astimezone(UTC),
            "period_end": end.astimezone(UTC),
            "recorded_at": datetime.now(UTC),
            "tenant_id": tenant,
        }
        await execute_core(s, _RECORD, usage)


__all__ = [
    "UsageLimitExceeded",
    "check_usage_limit",
    "record_usage",
    "reserve_usage",
    "usage_counters",
    "usage_totals",
]


async def meter(ctx: Context, feature_key: str, quantity: int = 1) -> None:
    """Record usage the platform itself measures (a chat turn), in the current period. Local
    only: the provider is told at period close by its own metering, not per turn."""
    sub = await _subscription(ctx)
    start, end = _window(sub, datetime.now(UTC))
    async with ctx.session() as s:
        s.add(
            UsageRecord(
                feature_key=feature_key,
                quantity=quantity,
                idempotency_key=None,
                period_start=start.astimezone(UTC),
                period_end=end.astimezone(UTC),
            )
        )
        await s.commit()


# -- usage counters: what the tenant's agents used, day by day -------------------------------------

COUNTER_DAYS = 100  # the newest days with usage a listing returns (the legacy dashboard's page)
_COUNTER_IDS = uuid.UUID("5d6f3f1e-2f0b-4c55-9a7e-0c8c9b1e7a10")  # uuid5 namespace of counter ids


@dataclass(frozen=True)
class UsageCounter:
    """One UTC day of the tenant's usage: the tokens and model requests of its chat turns and
    workflow runs started that day, and the bytes of the objects it stored that day. Its wire
    shapes (REST's legacy counter, the native `UsageCounter`) are the Strawberry types'."""

    id: uuid.UUID  # stable: one counter per tenant and day
    tenant_id: uuid.UUID
    day: date
    input_tokens: int
    output_tokens: int
    requests: int
    storage_bytes: int
    updated_at: datetime


def _day(column: Any, dialect: str) -> Any:
    """The UTC date of a timestamp column, in SQL (PostgreSQL would use the session's zone)."""
    return func.date(func.timezone("UTC", column)) if dialect == "postgresql" else func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def usage_counters(ctx: Context) -> list[UsageCounter]:
    """The tenant's daily usage counters, newest day first (at most COUNTER_DAYS days); days
    without usage have none. Totals are read from the runs themselves, so they are what the
    turns' `final` events reported."""
    tc = await require_role(ctx, "viewer")
    days: dict[date, dict[str, Any]] = {}

    def bucket(day: Any) -> dict[str, Any]:
        return days.setdefault(_as_date(day), {"input": 0, "output": 0, "requests": 0, "storage": 0, "updated": None})

    def touch(entry: dict[str, Any], moment: datetime | None) -> None:
        if moment is not None:
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            entry["updated"] = moment if entry["updated"] is None else max(entry["updated"], moment)

    async with ctx.session() as s:
        dialect = s.get_bind().dialect.name
        for model in (ChatRun, WorkflowRun):
            day = _day(model.started_at, dialect)
            query = (
                select(
                    day,
                    func.sum(model.input_tokens),
                    func.sum(model.output_tokens),
                    func.sum(model.requests),
                    func.max(func.coalesce(model.ended_at, model.started_at)),
                )
                .group_by(day)
                .order_by(day.desc())
                .limit(COUNTER_DAYS)
            )
            for when, tokens_in, tokens_out, requests, last in (await s.execute(query)).tuples():
                entry = bucket(when)
                entry["input"] += int(tokens_in or 0)
                entry["output"] += int(tokens_out or 0)
                entry["requests"] += int(requests or 0)
                touch(entry, last)
        day = _day(StorageObject.created_at, dialect)
        stored = (
            select(day, func.sum(StorageObject.size_bytes), func.max(StorageObject.created_at))
            .where(StorageObject.status == "available")
            .group_by(day)
            .order_by(day.desc())
            .limit(COUNTER_DAYS)
        )
        for when, size, last in (await s.execute(stored)).tuples():
            entry = bucket(when)
            entry["storage"] += int(size or 0)
            touch(entry, last)
    newest = sorted(days, reverse=True)[:COUNTER_DAYS]
    return [
        UsageCounter(
            id=uuid.uuid5(_COUNTER_IDS, f"{tc.tenant_id}:{day.isoformat()}:day"),
            tenant_id=tc.tenant_id,
            day=day,
            input_tokens=days[day]["input"],
            output_tokens=days[day]["output"],
            requests=days[day]["requests"],
            storage_bytes=days[day]["storage"],
            updated_at=days[day]["updated"] or datetime.combine(day, datetime.min.time(), UTC),
        )
        for day in newest
    ]
