"""Subscription rules, in-process (tests/inprocess.py), with the local payment provider (the default).

Covered: a plan with a trial starts `trialing` until the trial ends, one without starts `active` for
one interval, seats default to the plan's included seats; a tenant holds one live subscription
(a second start is a conflict, a start after cancelling is allowed); cancelling at period end keeps
the subscription active until then, cancelling now ends it, an ended one can be neither updated nor
cancelled again; each change records the event Stripe would send; who may read and change
(roles, the path's tenant, the billing feature) and that a tenant sees only its own subscription;
input validation (email, seat bounds, unknown or retired plans, an empty change); a start retried
with its idempotency key gets the first answer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agentdeck.db.models import StripeEvent, TenantSettings
from agentdeck.domain.billing import (
    cancel_subscription,
    event_history,
    get_subscription,
    start_subscription,
    sync_plans,
    update_subscription,
)
from agentdeck.domain.billing.plans import configured_plans
from agentdeck.domain.billing.subscriptions import MAX_SEATS
from agentdeck.domain.common.idempotency import Idempotency
from agentdeck.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from agentdeck.providers.payments import add_interval
from tests.inprocess import platform, tenant_member


def tid(ctx) -> str:
    return str(ctx.principal.tenant_id)


async def test_trial_plans_start_trialing_and_others_active_for_one_interval(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        a = await tenant_member(services, tenant_name="Trial Co")
        b = await tenant_member(services, tenant_name="Free Co")

        pro = await start_subscription(a, tid(a), "pro", "billing@trial.example", True, None)
        assert (pro.plan_code, pro.status, pro.seat_count, pro.auto_renew) == ("pro", "trialing", 5, True)
        assert pro.trial_ends_at - pro.current_period_start == timedelta(days=14)
        assert pro.current_period_end == pro.trial_ends_at and pro.cancel_at is None
        assert pro.processor == "local" and pro.billing_email == "billing@trial.example"

        starter = await start_subscription(b, tid(b), "starter", None, True, None)
        assert (starter.status, starter.seat_count, starter.trial_ends_at) == ("active", 1, None)
        assert starter.current_period_end == add_interval(starter.current_period_start, "month")

        # The local provider records the event Stripe would have sent, for the tenant alone.
        page = await event_history(a, tid(a), 10, None, None, None)
        assert [(e["event_type"], e["status"]) for e in page.items] == [("customer.subscription.created", "trialing")]
        assert page.items[0]["subscription"]["plan_code"] == "pro" and page.next_cursor is None


async def test_one_live_subscription_and_how_cancelling_ends_it(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        t = tid(ctx)
        first = await start_subscription(ctx, t, "starter", None, True, None)
        with pytest.raises(Conflict):
            await start_subscription(ctx, t, "pro", None, True, None)

        later = await cancel_subscription(ctx, t, cancel_at_period_end=True)
        assert (later.status, later.auto_renew) == ("active", False)
        assert later.cancel_at == first.current_period_end
        renewed = await update_subscription(ctx, t, True, None, None, None)  # changed their mind
        assert (renewed.status, renewed.auto_renew, renewed.cancel_at) == ("active", True, None)

        ended = await cancel_subscription(ctx, t, cancel_at_period_end=False)
        assert (ended.status, ended.auto_renew) == ("canceled", False)
        with pytest.raises(Conflict):
            await cancel_subscription(ctx, t, cancel_at_period_end=False)
        with pytest.raises(Conflict):
            await update_subscription(ctx, t, None, None, 3, None)

        again = await start_subscription(ctx, t, "pro", None, True, None)  # an ended one may be replaced
        assert (again.plan_code, again.status) == ("pro", "trialing")
        assert (await get_subscription(ctx, t)).subscription_ref == again.subscription_ref != first.subscription_ref
        async with services.db.platform_session() as s:
            kinds = list(await s.scalars(select(StripeEvent.event_type).order_by(StripeEvent.received_at)))
            outcomes = set(await s.scalars(select(StripeEvent.processing_outcome)))
        assert kinds == [
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "customer.subscription.created",
        ]
        assert outcomes == {"processed"}


async def test_who_may_read_and_change_a_subscription(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        owner = await tenant_member(services, "owner", "Owner Co")
        other = await tenant_member(services, "owner", "Other Co")
        member = await tenant_member(services, "member")
        viewer = await tenant_member(services, "viewer")

        with pytest.raises(Forbidden):  # changing billing takes an admin
            await start_subscription(member, tid(member), "starter", None, True, None)
        with pytest.raises(NotFound):  # a viewer may read; there is nothing yet
            await get_subscription(viewer, tid(viewer))

        await start_subscription(owner, tid(owner), "starter", None, True, None)
        with pytest.raises(Forbidden) as exc:  # the path names another tenant than the caller's
            await get_subscription(other, tid(owner))
        assert "mismatch" in exc.value.message
        with pytest.raises(NotFound):  # the other tenant has none of its own
            await get_subscription(other, tid(other))
        with pytest.raises(Forbidden):
            await cancel_subscription(other, tid(owner), cancel_at_period_end=False)
        assert (await get_subscription(owner, tid(owner))).status == "active"

        async with services.db.session(owner.principal.tenant_id) as s:  # the tenant turns billing off
            s.add(TenantSettings(flags={"feature.billing": False}))
            await s.commit()
        with pytest.raises(Forbidden) as exc:
            await get_subscription(owner, tid(owner))
        assert exc.value.message == "billing feature is disabled for this tenant."


async def test_subscription_input_rules(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        t = tid(ctx)
        with pytest.raises(InvalidInput) as exc:
            await start_subscription(ctx, t, "starter", "not-an-email", True, 0)
        assert [d["field"] for d in exc.value.details] == ["input.billing_email", "input.seat_count"]
        with pytest.raises(NotFound):
            await start_subscription(ctx, t, "platinum", None, True, None)
        with pytest.raises(NotFound):  # nothing to change yet
            await update_subscription(ctx, t, False, None, None, None)

        await start_subscription(ctx, t, "pro", None, True, 7)
        with pytest.raises(BadRequest):
            await update_subscription(ctx, t, None, None, None, None)
        with pytest.raises(InvalidInput) as exc:
            await update_subscription(ctx, t, None, None, MAX_SEATS + 1, None)
        assert exc.value.details[0]["field"] == "input.seat_count"
        contact = await update_subscription(ctx, t, None, "ap@example.com", None, None)
        assert (contact.billing_email, contact.seat_count, contact.plan_code) == ("ap@example.com", 7, "pro")

        # Pro is retired from the configuration: no one may move to it or start it, but a tenant
        # already on it keeps it and may still change its seats.
        await sync_plans(services.db, [p for p in configured_plans() if p["code"] != "pro"])
        newcomer = await tenant_member(services)
        with pytest.raises(NotFound):
            await start_subscription(newcomer, tid(newcomer), "pro", None, True, None)
        resized = await update_subscription(ctx, t, None, None, 9, None)
        assert (resized.plan_code, resized.seat_count) == ("pro", 9)
        moved = await update_subscription(ctx, t, None, None, None, "enterprise")
        assert (moved.plan_code, moved.seat_count) == ("enterprise", 9)
        with pytest.raises(NotFound):
            await update_subscription(ctx, t, None, None, None, "pro")


async def test_a_retried_start_gets_the_first_answer(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        t = tid(ctx)
        inputs = {"plan_code": "starter", "seat_count": 2}
        first = await start_subscription(ctx, t, "starter", None, True, 2, Idempotency("start-1", inputs))
        retry = await start_subscription(ctx, t, "starter", None, True, 2, Idempotency("start-1", inputs))
        assert (retry.plan_code, retry.seat_count, retry.status) == ("starter", 2, "active")
        assert retry.current_period_end == first.current_period_end and retry.tenant_id == first.tenant_id
        with pytest.raises(InvalidInput) as exc:  # the same key for other inputs
            await start_subscription(
                ctx, t, "pro", None, True, 2, Idempotency("start-1", {"plan_code": "pro", "seat_count": 2})
            )
        assert exc.value.details[0]["field"] == "idempotencyKey"
        with pytest.raises(Conflict):  # without the key it is a second start
            await start_subscription(ctx, t, "starter", None, True, 2)
        async with services.db.platform_session() as s:
            assert len(list(await s.scalars(select(StripeEvent.id)))) == 1
