"""Plans are configuration (`agentdeck/billing_plans.json`), synced into the database at start-up."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agentdeck.context import Context
from agentdeck.db.models import BillingPlan
from agentdeck.db.session import Database
from agentdeck.domain.common.results import Page
from agentdeck.errors import NotFound
from agentdeck.providers.payments import PlanRef

log = logging.getLogger("agentdeck.billing")
FIELDS = (
    "name",
    "interval",
    "interval_count",
    "price_cents",
    "currency",
    "trial_days",
    "seat_included",
    "feature_toggles",
    "features",
    "stripe_price_id",
)


def configured_plans() -> list[dict[str, Any]]:
    return json.loads(resources.files("agentdeck").joinpath("billing_plans.json").read_text())


async def sync_plans(db: Database, plans: list[dict[str, Any]] | None = None) -> None:
    """Idempotent: insert new plans, update changed ones, deactivate plans no longer configured
    (kept, because subscriptions may still name them)."""
    plans = configured_plans() if plans is None else plans
    async with db.platform_session() as s:
        existing = {p.code: p for p in await s.scalars(select(BillingPlan))}
        for position, spec in enumerate(plans):
            row = existing.pop(spec["code"], None)
            if row is None:
                row = BillingPlan(code=spec["code"])
                s.add(row)
            for name in FIELDS:
                setattr(row, name, spec.get(name))
            row.features = [dict(f) for f in spec.get("features", [])]
            row.feature_toggles = dict(spec.get("feature_toggles") or {})
            row.interval_count = spec.get("interval_count", 1)
            row.currency = spec.get("currency", "usd")
            row.is_active, row.position = spec.get("is_active", True), position
        for row in existing.values():
            row.is_active = False
        try:
            await s.commit()
        except IntegrityError:  # another process synced the same plans at the same moment
            log.info("billing plans were synced concurrently by another process")


async def list_plans(ctx: Context) -> list[BillingPlan]:
    async with ctx.platform_session() as s:
        rows = await s.scalars(select(BillingPlan).where(BillingPlan.is_active).order_by(BillingPlan.position))
        return list(rows)


async def plan_page(ctx: Context, offset: int, limit: int) -> Page[BillingPlan]:
    """The active plans in their configured order, one page of them."""
    active = select(BillingPlan).where(BillingPlan.is_active)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(active.subquery()))
        rows = await s.scalars(active.order_by(BillingPlan.position).offset(offset).limit(limit))
        return Page(list(rows), int(total or 0))


async def plans_by_codes(ctx: Context, codes: Sequence[str]) -> list[BillingPlan | None]:
    """The plans with these codes, in order (None for an unknown code). Retired plans too: a
    subscription or an old event may still name one."""
    async with ctx.platform_session() as s:
        rows = {row.code: row for row in await s.scalars(select(BillingPlan).where(BillingPlan.code.in_(set(codes))))}
    return [rows.get(code) for code in codes]


async def get_plan(ctx: Context, code: str, *, active_only: bool = True) -> BillingPlan:
    async with ctx.platform_session() as s:
        row = await s.get(BillingPlan, code)
    if row is None or (active_only and not row.is_active):
        raise NotFound(f"Billing plan '{code}' not found.")
    return row


async def price_map(ctx: Context) -> dict[str, str]:
    async with ctx.platform_session() as s:
        rows = await s.execute(select(BillingPlan.stripe_price_id, BillingPlan.code))
        return {price: code for price, code in rows if price}


def plan_ref(row: BillingPlan) -> PlanRef:
    return PlanRef(row.code, row.interval, row.interval_count, row.trial_days, row.stripe_price_id)
