"""Billing through REST and GraphQL: plans, subscriptions (local provider and Stripe through a
local stub of its API), signed webhooks, usage and limits, event history and the live streams."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.harness import Server, assert_documented, start_server
from tests.stripe_stub import StripeStub, sign
from tests.users import register

SECRET = "whsec_test_secret"
B = "/api/v1/billing"
SUB = B + "/tenants/{tenant_id}/subscription"
EVENTS = B + "/tenants/{tenant_id}/events"
USAGE = B + "/tenants/{tenant_id}/usage"
GQL_SUB = "id status autoRenew seatCount billingEmail cancelAt currentPeriodEnd trialEndsAt plan { code }"
EVENT_FIELDS = (
    "id stripeEventId type occurredAt summary processingStatus subscription { status seatCount plan { code } }"
)
PAYLOAD = "userErrors { field message code }"


@pytest.fixture(scope="module")
def db_url(backend, tmp_path_factory) -> Iterator[str]:
    from tests.harness import fresh_database

    with fresh_database(backend, tmp_path_factory.mktemp("billing-db")) as url:
        yield url


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"agentdeck-billing-{uuid.uuid4().hex[:8]}:"


def _start(tmp, backend: str, url: str, env: dict[str, str]) -> Server:
    return start_server(tmp, backend=backend, database_url=url, env=env)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """Shared by the module's servers: one signing key, so a token works on every process."""
    return tmp_path_factory.mktemp("billing")


@pytest.fixture(scope="module")
def local(backend, db_url, prefix, var_dir) -> Iterator[Server]:
    """The local provider, with webhooks configured."""
    srv = _start(
        var_dir, backend, db_url, {"AGENTDECK_STRIPE_WEBHOOK_SECRET": SECRET, "AGENTDECK_REDIS_PREFIX": prefix}
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def stub() -> Iterator[StripeStub]:
    s = StripeStub()
    yield s
    s.close()


@pytest.fixture(scope="module")
def stripe_server(backend, db_url, prefix, stub, var_dir) -> Iterator[Server]:
    """The Stripe provider against the stub, sharing the database (and the bus) with `local`."""
    srv = _start(
        var_dir,
        backend,
        db_url,
        {
            "AGENTDECK_STRIPE_WEBHOOK_SECRET": SECRET,
            "AGENTDECK_STRIPE_SECRET_KEY": "sk_test_agentdeck",
            "AGENTDECK_STRIPE_API_BASE": stub.url,
            "AGENTDECK_REDIS_PREFIX": prefix,
        },
    )
    yield srv
    srv.stop()


def owner(server: Server):
    return register(server, verified=True)


def path(template: str, tenant_id: str) -> str:
    return template.format(tenant_id=tenant_id)


def event(kind: str, obj: dict, created: int | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def subscription_obj(
    tenant_id: str, status: str = "active", seats: int = 2, plan: str = "pro", sub_id: str = "sub_webhook"
) -> dict:
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": "cus_webhook",
        "status": status,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "trial_end": None,
        "metadata": {"tenant_id": tenant_id, "plan_code": plan},
        "items": {
            "data": [
                {
                    "price": {"id": f"price_agentdeck_{plan}"},
                    "quantity": seats,
                    "current_period_start": now,
                    "current_period_end": now + 86400 * 30,
                }
            ]
        },
    }


def post_webhook(
    server: Server,
    payload: dict | bytes,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature != "":
        headers["Stripe-Signature"] = signature or sign(raw, secret, timestamp)
    r = server.http.post("/webhooks/stripe", content=raw, headers=headers)
    assert_documented("POST", "/webhooks/stripe", r)
    return r


class SSEReader:
    """Reads `GET /billing/stream` in a thread; frames are split on a literal blank line."""

    def __init__(self, server: Server, token: str) -> None:
        self.frames: list[str] = []
        self.raw = b""
        self.ready = threading.Event()
        self.status = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, args=(server, token), daemon=True)
        self.thread.start()
        assert self.ready.wait(5), "stream did not open"

    def _run(self, server: Server, token: str) -> None:
        try:
            self._read(server, token)
        except httpx.HTTPError:
            pass  # the server stopped at the end of the module

    def _read(self, server: Server, token: str) -> None:
        with httpx.stream(
            "GET", server.base_url + B + "/stream", timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            self.status, self.headers = r.status_code, r.headers
            self.ready.set()
            if r.status_code != 200:
                self.raw = r.read()
                return
            for chunk in r.iter_raw():
                self.raw += chunk
                *done, rest = self.raw.decode().split("\n\n")
                self.frames = done
                if self._stop:
                    return

    def wait(self, n: int, timeout: float = 10) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.frames) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop = True
        return self.frames


# Plans -------------------------------------------------------------------------------------------


def test_plans_are_public_and_documented(local):
    r = local.rest("GET", B + "/plans")
    assert r.status_code == 200, r.text
    assert_documented("GET", B + "/plans", r)
    plans = {p["code"]: p for p in r.json()}
    assert plans["pro"]["price_cents"] == 4900 and plans["pro"]["trial_days"] == 14
    assert plans["starter"]["features"][0] == {
        "key": "messages",
        "display_name": "Chat messages",
        "description": "Chat turns per billing period.",
        "hard_limit": 100,
        "soft_limit": 80,
        "is_metered": True,
    }
    gql = local.gql(
        "{ billingPlans { totalCount nodes { code priceCents interval features { nodes { key hardLimit } } } } }"
    )
    assert [p["code"] for p in gql["data"]["billingPlans"]["nodes"]] == [p["code"] for p in r.json()]
    assert gql["data"]["billingPlans"]["totalCount"] == len(r.json())
    pro = next(p for p in gql["data"]["billingPlans"]["nodes"] if p["code"] == "pro")
    assert pro["interval"] == "MONTH" and pro["features"]["nodes"][0] == {"key": "messages", "hardLimit": 10000}


# Subscriptions with the local provider ----------------------------------------------------------


def plan_ids(server: Server) -> dict[str, str]:
    nodes = server.gql("{ billingPlans { nodes { id code } } }")["data"]["billingPlans"]["nodes"]
    return {p["code"]: p["id"] for p in nodes}


def _at(value: str | None) -> datetime | None:
    """A timestamp of either face as a datetime (REST and GraphQL spell it differently)."""
    return datetime.fromisoformat(value) if value is not None else None


def test_local_subscription_lifecycle_through_rest_and_graphql(local):
    """A subscription's lifecycle with the local provider (start, conflict, change, cancel, the
    events it records), each step taken through one face and read back through the other: REST
    runs one tenant's subscription and GraphQL sees every change; GraphQL runs a second
    tenant's and REST sees every change."""
    plans = plan_ids(local)
    read_gql = f"{{ billingSubscription {{ {GQL_SUB} events {{ nodes {{ type }} }} }} }}"
    start_gql = f"""mutation($p: ID!) {{ startSubscription(input: {{planId: $p}})
                        {{ subscription {{ {GQL_SUB} }} {PAYLOAD} }} }}"""

    # -- REST takes each step; GraphQL reads it back --
    acct = owner(local)
    t = acct.access_token
    p = path(SUB, acct.tenant_id)
    missing = local.rest("GET", p, token=t)
    assert missing.status_code == 404 and missing.json()["message"] == "Subscription not found."
    assert_documented("GET", SUB, missing)
    assert local.gql(read_gql, token=t)["data"]["billingSubscription"] is None

    r = local.rest(
        "POST",
        p,
        token=t,
        json={"plan_code": "pro", "billing_email": "billing@example.com", "seat_count": 3},
    )
    assert r.status_code == 201, r.text
    assert_documented("POST", SUB, r)
    body = r.json()
    assert body["status"] == "trialing" and body["seat_count"] == 3 and body["auto_renew"] is True
    assert body["tenant_id"] == acct.tenant_id and body["trial_ends_at"] is not None
    seen = local.gql(read_gql, token=t)["data"]["billingSubscription"]
    assert (seen["status"], seen["seatCount"], seen["autoRenew"], seen["billingEmail"], seen["plan"]) == (
        "TRIALING",
        3,
        True,
        "billing@example.com",
        {"code": "pro"},
    )
    assert _at(seen["trialEndsAt"]) == _at(body["trial_ends_at"])

    again = local.rest("POST", p, token=t, json={"plan_code": "pro"})
    assert again.status_code == 409
    assert_documented("POST", SUB, again)
    conflict = local.gql(start_gql, {"p": plans["pro"]}, token=t)["data"]["startSubscription"]
    assert conflict["subscription"] is None and [e["code"] for e in conflict["userErrors"]] == ["CONFLICT"]

    r = local.rest("PATCH", p, token=t, json={"seat_count": 7, "auto_renew": False})
    assert r.status_code == 200, r.text
    assert_documented("PATCH", SUB, r)
    assert r.json()["seat_count"] == 7 and r.json()["auto_renew"] is False and r.json()["cancel_at"]
    seen = local.gql(read_gql, token=t)["data"]["billingSubscription"]
    assert (seen["seatCount"], seen["autoRenew"]) == (7, False)
    assert _at(seen["cancelAt"]) == _at(r.json()["cancel_at"])

    empty = local.rest("PATCH", p, token=t, json={})
    assert empty.status_code == 400
    assert_documented("PATCH", SUB, empty)

    r = local.rest("POST", p + "/cancel", token=t, json={"cancel_at_period_end": False})
    assert r.status_code == 200, r.text
    assert_documented("POST", SUB + "/cancel", r)
    assert r.json()["status"] == "canceled"
    assert local.rest("GET", p, token=t).json()["status"] == "canceled"
    seen = local.gql(read_gql, token=t)["data"]["billingSubscription"]
    assert seen["status"] == "CANCELED"

    # The local provider records the events Stripe would have sent.
    r = local.rest("GET", path(EVENTS, acct.tenant_id), token=t)
    assert r.status_code == 200
    assert_documented("GET", EVENTS, r)
    kinds = [e["event_type"] for e in r.json()["items"]]
    assert kinds == ["customer.subscription.deleted", "customer.subscription.updated", "customer.subscription.created"]
    assert r.json()["items"][0]["subscription"]["status"] == "canceled"
    assert [e["type"] for e in seen["events"]["nodes"]] == kinds

    # -- GraphQL takes each step; REST reads it back --
    acct = owner(local)
    t = acct.access_token
    p = path(SUB, acct.tenant_id)
    start = local.gql(start_gql, {"p": plans["starter"]}, token=t)["data"]["startSubscription"]
    assert start["userErrors"] == [] and start["subscription"]["status"] == "ACTIVE", start
    rest = local.rest("GET", p, token=t).json()
    assert (rest["status"], rest["plan_code"], rest["tenant_id"]) == ("active", "starter", acct.tenant_id)

    upd = local.gql(
        f"""mutation($p: ID!) {{ updateSubscription(input: {{planId: $p, seatCount: 4}})
                       {{ subscription {{ {GQL_SUB} }} {PAYLOAD} }} }}""",
        {"p": plans["pro"]},
        token=t,
    )["data"]["updateSubscription"]
    assert upd["subscription"]["plan"] == {"code": "pro"} and upd["subscription"]["id"] == start["subscription"]["id"]
    rest = local.rest("GET", p, token=t).json()
    assert (rest["plan_code"], rest["seat_count"]) == ("pro", 4)

    cancel = local.gql(
        f"mutation {{ cancelSubscription(input: {{}}) {{ subscription {{ {GQL_SUB} }} {PAYLOAD} }} }}", token=t
    )["data"]["cancelSubscription"]
    sub = cancel["subscription"]
    assert sub["status"] == "ACTIVE" and sub["autoRenew"] is False and sub["cancelAt"] == sub["currentPeriodEnd"]
    rest = local.rest("GET", p, token=t).json()
    assert (rest["status"], rest["auto_renew"]) == ("active", False)
    assert _at(rest["cancel_at"]) == _at(rest["current_period_end"]) == _at(sub["cancelAt"])

    read = local.gql(
        f"""{{ billingSubscription {{ {GQL_SUB}
               events(first: 2) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {EVENT_FIELDS} }} }} }} }}""",
        token=t,
    )["data"]["billingSubscription"]
    assert read["seatCount"] == 4
    page = read["events"]
    assert len(page["nodes"]) == 2 and page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    assert [e["type"] for e in page["nodes"]] == ["customer.subscription.updated"] * 2
    assert all(e["processingStatus"] == "PROCESSED" for e in page["nodes"])
    r = local.rest("GET", path(EVENTS, acct.tenant_id), token=t)
    items = r.json()["items"]
    assert [e["event_type"] for e in items] == ["customer.subscription.updated"] * 2 + ["customer.subscription.created"]
    assert [e["stripe_event_id"] for e in items[:2]] == [e["stripeEventId"] for e in page["nodes"]]


def test_roles_tenant_paths_and_invalid_bodies(local):
    acct, other = owner(local), owner(local)
    p = path(SUB, acct.tenant_id)
    for method, url, body in [
        ("GET", p, None),
        ("POST", p, {"plan_code": "pro"}),
        ("GET", path(EVENTS, acct.tenant_id), None),
        ("POST", path(USAGE, acct.tenant_id), {"feature_key": "messages", "quantity": 1}),
    ]:
        r = local.rest(method, url, token=other.access_token, json=body)
        assert r.status_code == 403, r.text
        assert r.json()["message"] == "Tenant mismatch between request and credentials."
    assert local.rest("GET", path(SUB, "not-a-uuid"), token=acct.access_token).status_code == 403
    assert local.rest("GET", p).status_code == 401
    # A viewer reads but may not change the subscription.
    viewer = {"X-Tenant-Role": "viewer"}
    assert local.rest("GET", p, token=acct.access_token, headers=viewer).status_code == 404
    denied = local.rest("POST", p, token=acct.access_token, headers=viewer, json={"plan_code": "pro"})
    assert denied.status_code == 403

    for bad, loc in [
        ({}, ["body", "plan_code"]),
        ({"plan_code": "pro", "seat_count": 0}, ["body", "seat_count"]),
        ({"plan_code": "pro", "billing_email": "nope"}, ["body", "billing_email"]),
        ({"plan_code": "pro", "surprise": 1}, ["body", "surprise"]),
    ]:
        r = local.rest("POST", p, token=acct.access_token, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert_documented("POST", SUB, r)
        assert r.json()["error"] == "ValidationError" and r.json()["details"][0]["loc"] == loc, r.text
    unknown = local.rest("POST", p, token=acct.access_token, json={"plan_code": "platinum"})
    assert unknown.status_code == 404
    r = local.rest(
        "POST", path(USAGE, acct.tenant_id), token=acct.access_token, json={"feature_key": "messages", "quantity": 0}
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "quantity"]
    r = local.rest("GET", path(EVENTS, acct.tenant_id), token=acct.access_token, params={"limit": 101})
    assert r.status_code == 422
    assert_documented("GET", EVENTS, r)
    r = local.rest("GET", path(EVENTS, acct.tenant_id), token=acct.access_token, params={"cursor": "!!"})
    assert r.status_code == 400
    r = local.rest("GET", path(EVENTS, acct.tenant_id), token=acct.access_token, params={"processing_status": "weird"})
    assert r.status_code == 422


def test_billing_feature_flag_disables_tenant(local):
    acct = owner(local)
    r = local.rest(
        "PUT",
        "/api/v1/tenants/settings",
        token=acct.access_token,
        headers={"If-Match": '"0"'},
        json={"billing_contacts": [], "plan_metadata": {}, "flags": {"feature.billing": False}},
    )
    assert r.status_code == 200, r.text
    r = local.rest("GET", path(SUB, acct.tenant_id), token=acct.access_token)
    assert r.status_code == 403 and r.json()["message"] == "billing feature is disabled for this tenant."
    r = local.rest("GET", B + "/stream", token=acct.access_token)
    assert r.status_code == 403 and r.json()["message"] == "billing_stream feature is disabled for this tenant."
    assert local.rest("GET", B + "/plans").status_code == 200  # public, ungated


# Usage --------------------------------------------------------------------------------------------


def test_usage_idempotency_totals_and_limits(local):
    acct = owner(local)
    t = acct.access_token
    assert local.rest("POST", path(SUB, acct.tenant_id), token=t, json={"plan_code": "starter"}).status_code == 201
    u = path(USAGE, acct.tenant_id)
    r = local.rest("POST", u, token=t, json={"feature_key": "messages", "quantity": 60, "idempotency_key": "k-1"})
    assert r.status_code == 202, r.text
    assert_documented("POST", USAGE, r)
    assert r.json() == {"success": True, "message": "Usage recorded.", "data": None}
    again = local.rest("POST", u, token=t, json={"feature_key": "messages", "quantity": 60, "idempotency_key": "k-1"})
    assert again.status_code == 202
    gql = local.gql(
        'mutation { recordUsage(input: {featureKey: "messages", quantity: 30, idempotencyKey: "k-2"}) '
        "{ usage { featureKey quantity hardLimit } userErrors { message } } }",
        token=t,
    )
    assert gql["data"]["recordUsage"] == {
        "usage": {"featureKey": "messages", "quantity": 90, "hardLimit": 100},
        "userErrors": [],
    }, gql
    totals = local.gql("{ billingSubscription { usage { nodes { featureKey quantity hardLimit } } } }", token=t)[
        "data"
    ]["billingSubscription"]["usage"]["nodes"]
    assert {"featureKey": "messages", "quantity": 90, "hardLimit": 100} in totals


@pytest.fixture
async def services(tmp_path):
    """In-process services on a migrated SQLite database, with the configured plans and a tenant."""
    import asyncio

    from agentdeck.context import Services
    from agentdeck.db import migrate
    from agentdeck.db.models import Tenant
    from agentdeck.domain.billing import sync_plans
    from agentdeck.settings import Settings

    settings = Settings(var_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await asyncio.to_thread(migrate.upgrade, settings.effective_database_url)
    svc = Services(settings)
    await sync_plans(svc.db)
    svc.tenant_id = uuid.uuid4()
    async with svc.db.platform_session() as s:
        s.add(Tenant(id=svc.tenant_id, name="Billing", slug=f"billing-{svc.tenant_id.hex[:8]}", status="active"))
        await s.commit()
    yield svc
    await svc.db.dispose()


async def test_the_migration_matches_the_models(services):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from agentdeck.db.base import Base

    tables = ("billing_plans", "tenant_subscriptions", "usage_records", "stripe_events")
    async with services.db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert [d for d in diff if any(t in repr(d) for t in tables)] == []


async def test_check_usage_limit_raises_documented_429(services):
    """`check_usage_limit` (what chat calls before a turn) against a real database."""
    from datetime import UTC, datetime, timedelta

    from agentdeck.context import Context, Principal
    from agentdeck.db.models import TenantSubscription, UsageRecord
    from agentdeck.domain.billing import check_usage_limit
    from agentdeck.errors import DomainError
    from agentdeck.rest_compat.errors import from_extensions

    now, tenant_id = datetime.now(UTC), services.tenant_id
    ctx = Context(services=services, principal=Principal(subject="user:x", tenant_id=tenant_id, roles=("member",)))
    await check_usage_limit(ctx, "messages")  # no subscription: no limits
    async with services.db.platform_session() as s:
        s.add(
            TenantSubscription(
                tenant_id=tenant_id,
                plan_code="starter",
                status="active",
                starts_at=now,
                current_period_start=now - timedelta(days=1),
                current_period_end=now + timedelta(days=29),
                processor="local",
                metadata_={},
                state_at=now,
            )
        )
        s.add(
            UsageRecord(
                tenant_id=tenant_id,
                feature_key="messages",
                quantity=99,
                period_start=now - timedelta(days=1),
                period_end=now + timedelta(days=29),
            )
        )
        await s.commit()
    await check_usage_limit(ctx, "messages")  # 99 + 1 reaches the limit of 100 exactly
    with pytest.raises(DomainError) as exc:
        await check_usage_limit(ctx, "messages", adding=2)
    response = from_extensions(exc.value.message, exc.value.extensions, lambda f: [f])
    body = json.loads(response.body)
    assert response.status_code == 429 and body["error"] == "usage_limit_exceeded"
    assert body["details"]["limit_value"] == 100 and body["details"]["usage"] == 99
    assert body["details"]["plan_code"] == "starter" and body["details"]["limit_type"] == "hard_limit"
    assert set(body["details"]) == {
        "tenant_id",
        "plan_code",
        "feature_key",
        "limit_type",
        "limit_value",
        "usage",
        "unit",
        "window_start",
        "window_end",
    }


async def test_failed_event_is_retried_after_backoff(services):
    """A handler failure is recorded with a backoff; once due (and fixable), a retry applies it."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from agentdeck.context import Context
    from agentdeck.db.models import StripeEvent, TenantSubscription
    from agentdeck.domain.billing import retry_due, sync_plans
    from agentdeck.domain.billing.events import ingest
    from agentdeck.domain.billing.plans import configured_plans
    from agentdeck.errors import DomainError

    ctx = Context(services=services)
    payload = event("customer.subscription.created", subscription_obj(str(services.tenant_id), plan="gold"))
    with pytest.raises(DomainError) as exc:
        await ingest(ctx, payload)
    assert exc.value.code == "StripeWebhookProcessingFailed"
    async with services.db.platform_session() as s:
        row = await s.scalar(select(StripeEvent))
    assert row.processing_outcome == "failed" and row.processing_attempts == 1 and "gold" in row.processing_error
    assert timedelta(seconds=25) < row.next_retry_at - datetime.now(UTC) <= timedelta(seconds=30)
    assert await retry_due(ctx) == 0  # not yet due
    assert await ingest(ctx, payload) is True  # a redelivery is a duplicate, not a second attempt

    await sync_plans(services.db, [*configured_plans(), {**configured_plans()[1], "code": "gold"}])
    async with services.db.platform_session() as s:
        await s.execute(update(StripeEvent).values(next_retry_at=datetime.now(UTC) - timedelta(seconds=1)))
        await s.commit()
    assert await retry_due(ctx) == 1
    async with services.db.platform_session() as s:
        row = await s.scalar(select(StripeEvent))
        sub = await s.scalar(select(TenantSubscription))
    assert row.processing_outcome == "processed" and row.processing_attempts == 2 and row.next_retry_at is None
    assert sub.plan_code == "gold" and sub.seat_count == 2


# Webhooks -----------------------------------------------------------------------------------------


def test_webhook_signature_errors(local):
    payload = event("invoice.paid", {"id": "in_1", "status": "paid"})
    raw = json.dumps(payload).encode()
    r = post_webhook(local, raw, signature="")
    assert r.status_code == 400 and r.json()["error"] == "MissingStripeSignature"
    r = post_webhook(local, raw, secret="whsec_wrong")
    assert r.status_code == 400 and r.json()["error"] == "InvalidStripeSignature"
    assert r.json()["success"] is False and r.json()["message"]
    r = post_webhook(local, raw, timestamp=int(time.time()) - 301)
    assert r.status_code == 400 and r.json()["error"] == "InvalidStripeSignature"
    r = post_webhook(local, b"{not json", SECRET)
    assert r.status_code == 400 and r.json()["error"] == "InvalidStripePayload"


def test_webhook_not_configured_and_billing_disabled(backend, db_url, var_dir):
    srv = _start(var_dir, backend, db_url, {})
    try:
        r = post_webhook(srv, event("invoice.paid", {"id": "in_2"}))
        assert r.status_code == 503 and r.json()["error"] == "StripeWebhookNotConfigured"
    finally:
        srv.stop()
    srv = _start(
        var_dir, backend, db_url, {"AGENTDECK_ENABLE_BILLING": "false", "AGENTDECK_STRIPE_WEBHOOK_SECRET": SECRET}
    )
    try:
        r = srv.http.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": sign(b"{}", SECRET)})
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
        acct = owner(srv)
        r = srv.rest("GET", path(SUB, acct.tenant_id), token=acct.access_token)
        assert r.status_code == 403 and r.json()["message"] == "billing feature is disabled for this tenant."
        assert srv.rest("GET", B + "/plans").status_code == 200
    finally:
        srv.stop()


def test_webhook_duplicates_and_out_of_order(local):
    acct = owner(local)
    t = acct.access_token
    now = int(time.time())
    newer = event("customer.subscription.updated", subscription_obj(acct.tenant_id, seats=9), created=now)
    older = event(
        "customer.subscription.updated", subscription_obj(acct.tenant_id, "past_due", seats=2), created=now - 60
    )
    r = post_webhook(local, newer)
    assert r.status_code == 202 and r.json() == {"success": True, "duplicate": False}
    r = post_webhook(local, newer)
    assert r.status_code == 202 and r.json() == {"success": True, "duplicate": True}
    assert post_webhook(local, older).json() == {"success": True, "duplicate": False}
    sub = local.rest("GET", path(SUB, acct.tenant_id), token=t).json()
    assert sub["status"] == "active" and sub["seat_count"] == 9  # the older event did not win

    hist = local.rest("GET", path(EVENTS, acct.tenant_id), token=t).json()["items"]
    assert [e["stripe_event_id"] for e in hist] == [older["id"], newer["id"]]  # stored once each
    invoice = event(
        "invoice.payment_succeeded",
        {
            "id": "in_9",
            "object": "invoice",
            "status": "paid",
            "amount_due": 4900,
            "currency": "usd",
            "billing_reason": "subscription_create",
            "collection_method": "charge_automatically",
            "period_start": now,
            "period_end": now + 86400,
            "metadata": {"tenant_id": acct.tenant_id},
        },
    )
    assert post_webhook(local, invoice).status_code == 202
    r = local.rest(
        "GET",
        path(EVENTS, acct.tenant_id),
        token=t,
        params={"event_type": "invoice.payment_succeeded", "processing_status": "processed"},
    )
    assert_documented("GET", EVENTS, r)
    items = r.json()["items"]
    assert len(items) == 1 and items[0]["invoice"]["amount_due_cents"] == 4900
    assert items[0]["summary"] == "subscription_create" and items[0]["occurred_at"].endswith("+00:00")

    # An event its handler cannot apply is recorded as failed (Stripe retries on the 500).
    broken = event(
        "customer.subscription.updated",
        {**subscription_obj(acct.tenant_id, plan="nope"), "items": {"data": [{"price": {"id": "price_unknown"}}]}},
    )
    r = post_webhook(local, broken)
    assert r.status_code == 500 and r.json()["error"] == "StripeWebhookProcessingFailed"
    failed = local.rest("GET", path(EVENTS, acct.tenant_id), token=t, params={"processing_status": "failed"})
    assert [e["stripe_event_id"] for e in failed.json()["items"]] == [broken["id"]]


def test_history_pagination(local):
    acct = owner(local)
    for i in range(5):
        obj = subscription_obj(acct.tenant_id, seats=i + 1)
        assert (
            post_webhook(local, event("customer.subscription.updated", obj, created=int(time.time()) + i)).status_code
            == 202
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = local.rest("GET", path(EVENTS, acct.tenant_id), token=acct.access_token, params=params)
        assert r.status_code == 200
        seen += [e["subscription"]["seat_count"] for e in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [5, 4, 3, 2, 1]


def test_webhook_reaches_sse_and_websocket(local):
    acct = owner(local)
    reader = SSEReader(local, acct.access_token)
    assert reader.status == 200, reader.raw
    assert reader.headers["content-type"].startswith("text/event-stream")
    query = "subscription { billingEvents { " + EVENT_FIELDS + " } }"
    with local.subscription(query, token=acct.access_token) as ws:
        time.sleep(0.4)
        payload = event("customer.subscription.created", subscription_obj(acct.tenant_id, seats=4))
        assert post_webhook(local, payload).status_code == 202
        got = ws.next()["data"]["billingEvents"]
        assert got["stripeEventId"] == payload["id"] and got["subscription"]["seatCount"] == 4
        assert got["type"] == "customer.subscription.created" and got["processingStatus"] == "PROCESSED"
        assert got["subscription"]["plan"] == {"code": "pro"} and got["id"]
    frames = reader.wait(1)
    assert len(frames) == 1, reader.raw
    frame = frames[0]
    assert frame.startswith('data: {"tenant_id": "') and "\n" not in frame and "id:" not in frame
    data = json.loads(frame[len("data: ") :])
    assert list(data) == [
        "tenant_id",
        "event_type",
        "stripe_event_id",
        "occurred_at",
        "summary",
        "status",
        "subscription",
        "invoice",
        "usage",
    ]
    assert data["stripe_event_id"] == payload["id"] and data["summary"] == "Subscription active"
    sub = local.rest("GET", path(SUB, acct.tenant_id), token=acct.access_token).json()
    assert sub["seat_count"] == 4 and sub["status"] == "active"


def test_stream_concurrency_is_per_tenant_across_processes(local, stripe_server, backend):
    acct = owner(local)
    headers = {"Authorization": f"Bearer {acct.access_token}"}
    # With Redis, both processes count the tenant's streams together.
    servers = [local, stripe_server] if backend == "postgres" else [local]
    with contextlib.ExitStack() as stack:
        opened = []
        for i in range(3):
            r = stack.enter_context(
                httpx.stream("GET", servers[i % len(servers)].base_url + B + "/stream", headers=headers, timeout=10)
            )
            assert r.status_code == 200
            opened.append(r)
        for server in servers:
            refused = server.rest("GET", B + "/stream", token=acct.access_token)
            assert refused.status_code == 429 and refused.headers["retry-after"] == "5", refused.text
            assert_documented("GET", B + "/stream", refused)
        opened[0].close()  # the server sees the disconnect and frees the slot
        deadline = time.monotonic() + 5
        while True:
            with httpx.stream("GET", servers[-1].base_url + B + "/stream", headers=headers, timeout=10) as r:
                if r.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed stream's slot was not freed"
            time.sleep(0.1)
        other = owner(local)
        with httpx.stream(
            "GET", local.base_url + B + "/stream", timeout=10, headers={"Authorization": f"Bearer {other.access_token}"}
        ) as r:
            assert r.status_code == 200  # another tenant has slots of its own


def test_stream_requires_tenant(local):
    assert local.rest("GET", B + "/stream").status_code == 401


# The Stripe provider ------------------------------------------------------------------------------


def test_stripe_provider_lifecycle(stripe_server, local, stub, backend):
    acct = owner(stripe_server)
    t = acct.access_token
    p = path(SUB, acct.tenant_id)
    # A stream on the *other* process: with Redis, the event handled here reaches it.
    reader = SSEReader(local, t) if backend == "postgres" else None
    r = stripe_server.rest(
        "POST", p, token=t, json={"plan_code": "pro", "seat_count": 2, "billing_email": "pay@example.com"}
    )
    assert r.status_code == 201, r.text
    assert_documented("POST", SUB, r)
    assert r.json()["status"] == "trialing"
    customer = stub.calls("POST", "/v1/customers")[-1]
    assert customer["email"] == "pay@example.com" and customer["metadata"]["tenant_id"] == acct.tenant_id
    created = stub.calls("POST", "/v1/subscriptions")[-1]
    assert created["items"]["0"] == {"price": "price_agentdeck_pro", "quantity": "2"}
    sub_id = next(s for s in stub.subscriptions.values() if s["metadata"]["tenant_id"] == acct.tenant_id)["id"]

    r = stripe_server.rest("PATCH", p, token=t, json={"seat_count": 6})
    assert r.status_code == 200 and r.json()["seat_count"] == 6
    assert stub.calls("POST", f"/v1/subscriptions/{sub_id}")[-1]["items"]["0"]["quantity"] == "6"
    r = stripe_server.rest("POST", p + "/cancel", token=t, json={})
    assert r.status_code == 200 and r.json()["auto_renew"] is False and r.json()["cancel_at"]
    assert stub.calls("POST", f"/v1/subscriptions/{sub_id}")[-1]["cancel_at_period_end"] == "true"
    r = stripe_server.rest(
        "POST",
        path(USAGE, acct.tenant_id),
        token=t,
        json={"feature_key": "messages", "quantity": 5, "idempotency_key": "u-1"},
    )
    assert r.status_code == 202
    meter = stub.calls("POST", "/v1/billing/meter_events")[-1]
    assert meter["identifier"] == "u-1" and meter["payload"]["value"] == "5"
    stripe_server.rest(
        "POST",
        path(USAGE, acct.tenant_id),
        token=t,
        json={"feature_key": "messages", "quantity": 5, "idempotency_key": "u-1"},
    )
    customer_id = stub.subscriptions[sub_id]["customer"]
    mine = [
        m for m in stub.calls("POST", "/v1/billing/meter_events") if m["payload"]["stripe_customer_id"] == customer_id
    ]
    assert len(mine) == 1  # the repeated idempotency key was not reported again

    # Stripe then tells us the subscription ended: the signed webhook changes the state.
    gone = {**stub.subscriptions[sub_id], "status": "canceled"}
    r = post_webhook(stripe_server, event("customer.subscription.deleted", gone, created=int(time.time()) + 1))
    assert r.status_code == 202 and r.json()["duplicate"] is False
    assert stripe_server.rest("GET", p, token=t).json()["status"] == "canceled"
    if reader is not None:
        frames = reader.wait(1)
        assert frames and '"event_type": "customer.subscription.deleted"' in frames[0]

    # Stripe answering with an error is a 502, not a crash.
    r = stripe_server.rest("POST", p, token=t, json={"plan_code": "enterprise"})
    assert r.status_code == 201  # canceled subscriptions may be replaced
    stub.subscriptions.clear()
    r = stripe_server.rest("PATCH", p, token=t, json={"seat_count": 3})
    assert r.status_code == 502
    assert_documented("PATCH", SUB, r)


def test_retry_backoff_schedule():
    from datetime import timedelta

    from agentdeck.domain.billing.events import retry_delay

    assert [retry_delay(n) for n in (1, 2, 3, 6, 20)] == [timedelta(seconds=s) for s in (30, 60, 120, 600, 600)]


async def test_stream_framing_heartbeat_and_spaced_json():
    """The billing route's SSE spec: `: ping` while idle, `data: <spaced one-line JSON>`, no `id:`."""
    import asyncio
    from dataclasses import replace

    from agentdeck.rest_compat import sse
    from agentdeck.rest_compat.routes import BILLING_SSE

    async def source():
        await asyncio.sleep(0.12)
        yield {"tenant_id": "t", "summary": "Subscription active", "usage": []}

    spec = replace(BILLING_SSE, heartbeat_seconds=0.05)
    out = [chunk async for chunk in sse.frames(source(), spec)]
    assert (
        out[0] == b": ping\n\n"
        and out[-1] == b'data: {"tenant_id": "t", "summary": "Subscription active", "usage": []}\n\n'
    )
    assert BILLING_SSE.heartbeat_seconds == 15 and BILLING_SSE.id_field is None
