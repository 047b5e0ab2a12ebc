"""Payment event rules, in-process (tests/inprocess.py): the Stripe webhook driven by calling the
domain, not over HTTP.

Covered: a webhook is refused unless configured, signed with the secret and recent, and a
Stripe event; each event is stored once by its id (a redelivery is a duplicate, not applied
again); subscription events create or update the tenant's subscription, an event older than the
state applied is kept as stale and changes nothing, a deletion cancels; without a tenant hint an
event finds its subscription by reference and its plan by price, and one that finds neither
fails and is scheduled for a retry; the event history is the tenant's own, newest first, filtered
by type and outcome, paged by cursor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agentdeck.db.models import StripeEvent
from agentdeck.domain.billing import event_history, get_subscription, handle_stripe_webhook, sync_plans
from agentdeck.domain.billing.events import STALE, ingest
from agentdeck.errors import BadRequest, DomainError
from tests.inprocess import platform, tenant_member

SECRET = "whsec_rules_test"


def sign(raw: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def subscription_event(
    kind: str,
    tenant_id: str | None,
    created: int,
    *,
    status: str = "active",
    seats: int = 2,
    plan: str | None = "pro",
    sub_id: str = "sub_rules",
    event_id: str | None = None,
) -> dict:
    metadata = {}
    if tenant_id:
        metadata["tenant_id"] = tenant_id
    if plan:
        metadata["plan_code"] = plan
    item = {
        "price": {"id": "price_agentdeck_enterprise"},
        "quantity": seats,
        "current_period_start": created,
        "current_period_end": created + 86400 * 30,
    }
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {
            "object": {
                "id": sub_id,
                "object": "subscription",
                "customer": "cus_rules",
                "status": status,
                "cancel_at_period_end": False,
                "metadata": metadata,
                "items": {"data": [item]},
            }
        },
    }


async def test_the_webhook_takes_only_signed_recent_events(tmp_path):
    async with platform(tmp_path / "unconfigured") as services:
        ctx = await tenant_member(services)
        with pytest.raises(DomainError) as exc:
            await handle_stripe_webhook(ctx, b"{}", sign(b"{}"))
        assert exc.value.code == "StripeWebhookNotConfigured"

    async with platform(tmp_path, stripe_webhook_secret=SECRET) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        t = str(ctx.principal.tenant_id)
        raw = json.dumps(subscription_event("customer.subscription.created", t, int(time.time()))).encode()
        refusals = [
            (None, "MissingStripeSignature"),
            (sign(raw, "whsec_other"), "InvalidStripeSignature"),
            (sign(raw, at=int(time.time()) - 301), "InvalidStripeSignature"),  # past the 300 s tolerance
            (sign(raw + b" "), "InvalidStripeSignature"),  # the body was changed after signing
        ]
        for signature, code in refusals:
            with pytest.raises(DomainError) as exc:
                await handle_stripe_webhook(ctx, raw, signature)
            assert exc.value.code == code, signature
        not_an_event = b'{"object": "event"}'
        with pytest.raises(DomainError) as exc:
            await handle_stripe_webhook(ctx, not_an_event, sign(not_an_event))
        assert exc.value.code == "InvalidStripePayload"
        with pytest.raises(DomainError):  # nothing refused was applied
            await get_subscription(ctx, t)

        first = await handle_stripe_webhook(ctx, raw, sign(raw))
        again = await handle_stripe_webhook(ctx, raw, sign(raw))
        assert (first.success, first.duplicate, again.duplicate) == (True, False, True)
        sub = await get_subscription(ctx, t)
        assert (sub.plan_code, sub.status, sub.seat_count, sub.processor) == ("pro", "active", 2, "stripe")


async def test_subscription_events_apply_in_order_of_creation(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        t = str(ctx.principal.tenant_id)
        now = int(time.time())
        assert await ingest(ctx, subscription_event("customer.subscription.created", t, now - 100)) is False
        newer = subscription_event("customer.subscription.updated", t, now - 10, seats=8, event_id="evt_newer")
        older = subscription_event("customer.subscription.updated", t, now - 50, seats=4, event_id="evt_older")
        assert await ingest(ctx, newer) is False
        assert await ingest(ctx, older) is False  # stored, but stale
        assert await ingest(ctx, newer) is True  # a redelivery
        sub = await get_subscription(ctx, t)
        assert sub.seat_count == 8
        async with services.db.platform_session() as s:
            rows = {r.stripe_event_id: r for r in await s.scalars(select(StripeEvent))}
        assert len(rows) == 3
        assert (rows["evt_older"].processing_outcome, rows["evt_older"].processing_error) == ("processed", STALE)
        assert rows["evt_newer"].processing_error is None and rows["evt_newer"].processing_attempts == 1

        # No tenant hint and no plan code: found by its reference, the plan by its price.
        await ingest(ctx, subscription_event("customer.subscription.updated", None, now - 5, seats=3, plan=None))
        sub = await get_subscription(ctx, t)
        assert (sub.plan_code, sub.seat_count) == ("enterprise", 3)
        await ingest(ctx, subscription_event("customer.subscription.deleted", t, now))
        sub = await get_subscription(ctx, t)
        assert (sub.status, sub.auto_renew) == ("canceled", False)

        # A subscription nobody knows, with no tenant: failed, retried after the first backoff.
        unknown = subscription_event("customer.subscription.updated", None, now, sub_id="sub_nobody")
        with pytest.raises(DomainError) as exc:
            await ingest(ctx, unknown)
        assert exc.value.code == "StripeWebhookProcessingFailed"
        async with services.db.platform_session() as s:
            failed = await s.scalar(select(StripeEvent).where(StripeEvent.stripe_event_id == unknown["id"]))
        assert failed.processing_outcome == "failed" and "sub_nobody" in failed.processing_error
        assert timedelta(seconds=25) < failed.next_retry_at - datetime.now(UTC) <= timedelta(seconds=30)


async def test_event_history_is_the_tenants_own_filtered_and_paged(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        ctx = await tenant_member(services)
        other = await tenant_member(services)
        t, o = str(ctx.principal.tenant_id), str(other.principal.tenant_id)
        now = int(time.time())
        ids = []
        for n, kind in enumerate(["created", "updated", "updated", "deleted"]):
            event = subscription_event(f"customer.subscription.{kind}", t, now + n, seats=n + 1)
            ids.append(event["id"])
            await ingest(ctx, event)
        await ingest(other, subscription_event("customer.subscription.created", o, now, sub_id="sub_other"))

        seen, cursor = [], None
        while True:
            page = await event_history(ctx, t, 3, cursor, None, None)
            seen += [e["stripe_event_id"] for e in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == ids[::-1]  # newest first, every event once
        updates = await event_history(ctx, t, 10, None, "customer.subscription.updated", "processed")
        assert [e["subscription"]["seat_count"] for e in updates.items] == [3, 2]
        assert (await event_history(ctx, t, 10, None, None, "failed")).items == []
        theirs = await event_history(other, o, 10, None, None, None)
        assert [e["tenant_id"] for e in theirs.items] == [o]
        with pytest.raises(BadRequest):
            await event_history(ctx, t, 10, "not-a-cursor", None, None)
