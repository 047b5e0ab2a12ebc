"""Usage rules, in-process (tests/inprocess.py): windows, idempotent recording, totals, hard limits.

Covered: usage is recorded once per idempotency key (body key or request key, which must agree)
and totalled per feature in the current window, which is the subscription's period (the calendar
month without one), listing the plan's features even when unused; usage outside the window and
another tenant's usage do not count; recording takes an admin; input validation; a plan's hard
limit refuses what would pass it (`check_usage_limit`, `reserve_usage`) with the documented
details, counting running workflow runs' steps, while features without a hard limit, a plan
without one and disabled guardrails refuse nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.db.models import WorkflowRun
from agentdeck.domain.billing import (
    UsageLimitExceeded,
    check_usage_limit,
    record_usage,
    start_subscription,
    sync_plans,
    usage_totals,
)
from agentdeck.domain.billing.usage import reserve_usage
from agentdeck.domain.common.idempotency import Idempotency
from agentdeck.errors import Forbidden, InvalidInput
from agentdeck.providers.payments import add_interval
from tests.inprocess import platform, tenant_member


def tid(ctx) -> str:
    return str(ctx.principal.tenant_id)


async def reserve(ctx, feature: str, quantity: int, *, record: bool = True) -> None:
    """What a chat turn does: reserve (and record) in the transaction that starts the work."""
    async with ctx.session() as s:
        await reserve_usage(ctx, s, feature, quantity, record=record)
        await s.commit()


async def test_usage_is_recorded_once_per_key_and_totalled_in_the_window(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        other = await tenant_member(services)
        t = tid(ctx)

        await record_usage(ctx, t, "messages", 60, "k-1", None, None)
        await record_usage(ctx, t, "messages", 60, "k-1", None, None)  # a retry: recorded once
        await record_usage(ctx, t, "messages", 5, None, None, None, Idempotency("k-2", {"q": 5}))
        await record_usage(ctx, t, "messages", 5, "k-2", None, None, Idempotency("k-2", {"q": 5}))  # same key
        await record_usage(ctx, t, "api_calls", 7, None, None, None)  # no key: every call counts
        await record_usage(ctx, t, "api_calls", 7, None, None, None)
        last_year = datetime.now(UTC) - timedelta(days=400)
        await record_usage(ctx, t, "messages", 1000, "old", last_year, last_year + timedelta(days=30))
        await record_usage(other, tid(other), "messages", 3, "k-1", None, None)  # keys are per tenant

        totals = await usage_totals(ctx, t)
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        assert (totals.start, totals.end) == (month, add_interval(month, "month"))  # no subscription
        assert totals.used == {"api_calls": 14, "messages": 65} and totals.features == {}
        assert (await usage_totals(other, tid(other))).used == {"messages": 3}

        sub = await start_subscription(ctx, t, "starter", None, True, None)
        totals = await usage_totals(ctx, t)
        assert (totals.start, totals.end) == (sub.current_period_start, sub.current_period_end)
        # Records made before the subscription began fall outside its period; the plan's
        # features are listed unused.
        assert totals.used == {"messages": 0, "storage_mb": 0}
        assert totals.features["messages"]["hard_limit"] == 100
        await record_usage(ctx, t, "messages", 4, "k-3", None, None)
        assert (await usage_totals(ctx, t)).used["messages"] == 4


async def test_recording_usage_rules(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        member = await tenant_member(services, "member")
        t = tid(ctx)
        with pytest.raises(Forbidden):
            await record_usage(member, tid(member), "messages", 1, None, None, None)
        with pytest.raises(Forbidden):  # the path's tenant must be the caller's
            await record_usage(ctx, tid(member), "messages", 1, None, None, None)
        naive = datetime(2030, 1, 1)
        with pytest.raises(InvalidInput) as exc:
            await record_usage(ctx, t, "x" * 65, 0, None, naive, None)
        assert [d["field"] for d in exc.value.details] == [
            "input.feature_key",
            "input.quantity",
            "input.period_end",
            "input.period_start",
        ]
        start = datetime(2030, 1, 2, tzinfo=UTC)
        with pytest.raises(InvalidInput) as exc:  # the period must end after it starts
            await record_usage(ctx, t, "messages", 1, None, start, start)
        assert [d["field"] for d in exc.value.details] == ["input.period_end"]
        with pytest.raises(InvalidInput) as exc:  # two different keys for one request
            await record_usage(ctx, t, "messages", 1, "body-key", None, None, Idempotency("header-key", {}))
        assert exc.value.details[0]["field"] == "input.idempotency_key"
        assert (await usage_totals(ctx, t)).used == {}  # nothing refused was recorded


async def test_a_hard_limit_refuses_what_would_pass_it(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        neighbour = await tenant_member(services)
        t = tid(ctx)
        sub = await start_subscription(ctx, t, "starter", None, True, None)  # 100 messages
        await start_subscription(neighbour, tid(neighbour), "starter", None, True, None)
        await record_usage(ctx, t, "messages", 97, "bulk", None, None)

        await check_usage_limit(ctx, "messages", adding=3)  # reaching the limit is allowed
        with pytest.raises(UsageLimitExceeded) as exc:
            await check_usage_limit(ctx, "messages", adding=4)
        assert exc.value.code == "usage_limit_exceeded"
        assert exc.value.details == {
            "tenant_id": t,
            "plan_code": "starter",
            "feature_key": "messages",
            "limit_type": "hard_limit",
            "limit_value": 100,
            "usage": 97,
            "unit": "units",
            "window_start": sub.current_period_start.isoformat(),
            "window_end": sub.current_period_end.isoformat(),
        }

        await reserve(ctx, "messages", 1)  # 98 recorded
        async with ctx.session() as s:  # a running workflow run holds its steps until it ends
            s.add(WorkflowRun(workflow_key="analysis_code", stream_id="run-1", status="running"))
            await s.commit()
        with pytest.raises(UsageLimitExceeded) as exc:
            await reserve(ctx, "messages", 1)
        assert exc.value.details["usage"] == 100
        assert (await usage_totals(ctx, t)).used["messages"] == 98  # the refused turn recorded nothing

        await reserve(neighbour, "messages", 100)  # the neighbour's count is its own
        await reserve(ctx, "api_calls", 10_000)  # not limited by the plan
        await check_usage_limit(ctx, "storage_mb", adding=100)
        with pytest.raises(UsageLimitExceeded):
            await check_usage_limit(ctx, "storage_mb", adding=101)


async def test_no_limit_without_a_hard_limit_or_with_guardrails_off(tmp_path):
    async with platform(tmp_path, enable_usage_guardrails=False) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        await start_subscription(ctx, tid(ctx), "starter", None, True, None)
        await reserve(ctx, "messages", 150)
        await check_usage_limit(ctx, "messages", adding=1)
        assert (await usage_totals(ctx, tid(ctx))).used["messages"] == 150

    async with platform(tmp_path / "enterprise") as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        await start_subscription(ctx, tid(ctx), "enterprise", None, True, None)  # messages: no hard limit
        await reserve(ctx, "messages", 1_000_000)
        await check_usage_limit(ctx, "messages", adding=1)
        assert (await usage_totals(ctx, tid(ctx))).used == {"messages": 1_000_000}
