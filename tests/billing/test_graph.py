"""Billing on the native graph, in-process (tests/inprocess.py): the schema executed with a
caller's context, no server in between.

Covered: plans are a public connection (first/after, pageInfo, totalCount) of Nodes with enum
intervals and their features; `billingSubscription` is the caller's tenant's (null without one,
no error), with its plan, usage and events (a connection, filtered by type and processing
status, paged both ways) through loaders, so a page of events costs the same statements whatever
its size; `node(id:)` round-trips plans, subscriptions and events, and is null for another
tenant's; `BillingSubscription.for_tenant` is the tenant's own subscription and null for any
other; the mutations answer payloads, with the user's mistakes as `userErrors` in GraphQL names
(invalid input, an unknown or non-plan id, a conflict, nothing to change) and permissions as
top-level errors (a member may read but not change billing, anonymous callers nothing but plans,
a tenant with billing switched off nothing); an event's provider status this API does not know
is null, not an error.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from agentdeck.db.models import TenantSettings
from agentdeck.domain.billing import sync_plans
from agentdeck.domain.billing.events import ingest
from agentdeck.schema import build_schema, graph
from agentdeck.schema.billing import BillingSubscription
from tests.billing.test_event_rules import subscription_event
from tests.inprocess import client, platform, tenant_member

PAYLOAD = "userErrors { field message code }"
SUB = "id databaseId status autoRenew seatCount billingEmail plan { code } usage { nodes { featureKey quantity } }"


class Caller:
    """Runs operations on the native schema as one context."""

    def __init__(self, schema: Any, ctx: Any) -> None:
        self.schema, self.ctx = schema, ctx

    async def __call__(self, query: str, **variables: Any) -> Any:
        return await self.schema.execute(query, variable_values=variables, context_value=self.ctx)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self(query, **variables)
        assert result.errors is None, result.errors
        return result.data

    async def start(self, plan_id: str, **fields: Any) -> dict[str, Any]:
        query = f"mutation($i: StartSubscriptionInput!) {{ startSubscription(input: $i) {{ subscription {{ {SUB} }} {PAYLOAD} }} }}"
        return (await self.data(query, i={"planId": plan_id, **fields}))["startSubscription"]


def code_of(result: Any) -> str:
    return result.errors[0].extensions["code"]


async def plan_ids(caller: Caller) -> dict[str, str]:
    data = await caller.data("{ billingPlans { nodes { id code } } }")
    return {p["code"]: p["id"] for p in data["billingPlans"]["nodes"]}


@contextmanager
def statements(services):
    """Counts the SQL statements run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_plans_are_a_public_connection_of_nodes(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        anonymous = Caller(build_schema(services.settings), client(services))
        page = "totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id code databaseId interval }"
        first = (await anonymous.data(f"{{ billingPlans(first: 2) {{ {page} }} }}"))["billingPlans"]
        assert [p["code"] for p in first["nodes"]] == ["starter", "pro"]
        assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
        assert [p["databaseId"] for p in first["nodes"]] == ["starter", "pro"]
        rest = (await anonymous.data(f'{{ billingPlans(after: "{first["pageInfo"]["endCursor"]}") {{ {page} }} }}'))[
            "billingPlans"
        ]
        assert [(p["code"], p["interval"]) for p in rest["nodes"]] == [("enterprise", "YEAR")]
        assert rest["pageInfo"]["hasNextPage"] is False and rest["pageInfo"]["hasPreviousPage"] is True

        pro = next(p for p in first["nodes"] if p["code"] == "pro")
        node = await anonymous.data(
            """query($id: ID!) { node(id: $id) { id ... on BillingPlan { name priceCents currency trialDays
               seatsIncluded isActive features { totalCount nodes { key displayName hardLimit softLimit isMetered } } } } }""",
            id=pro["id"],
        )
        plan = node["node"]
        assert (plan["id"], plan["name"], plan["priceCents"], plan["trialDays"]) == (pro["id"], "Pro", 4900, 14)
        assert plan["features"]["totalCount"] == 2 and plan["features"]["nodes"][0] == {
            "key": "messages",
            "displayName": "Chat messages",
            "hardLimit": 10000,
            "softLimit": 8000,
            "isMetered": True,
        }
        missing = str(graph.GlobalID("BillingPlan", "platinum"))
        assert await anonymous.data("query($id: ID!) { node(id: $id) { id } }", id=missing) == {"node": None}
        too_many = await anonymous("{ billingPlans(first: 101) { totalCount } }")
        assert code_of(too_many) == "INVALID_INPUT"


async def test_the_callers_subscription_its_plan_usage_and_node_identity(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        owner = Caller(schema, await tenant_member(services, "owner", "Owner Co"))
        other = Caller(schema, await tenant_member(services, "owner", "Other Co"))
        plans = await plan_ids(owner)

        none = await owner("{ billingSubscription { id } }")
        assert (none.errors, none.data) == (None, {"billingSubscription": None})  # none yet: null, no error

        started = await owner.start(plans["pro"], seatCount=3, billingEmail="ap@owner.example")
        sub = started["subscription"]
        assert started["userErrors"] == []
        assert (sub["status"], sub["seatCount"], sub["autoRenew"], sub["plan"]) == (
            "TRIALING",
            3,
            True,
            {"code": "pro"},
        )
        assert {"featureKey": "messages", "quantity": 0} in sub["usage"]["nodes"]

        read = (await owner.data(f"{{ billingSubscription {{ {SUB} trialEndsAt currentPeriodEnd }} }}"))[
            "billingSubscription"
        ]
        assert read["id"] == sub["id"] and read["trialEndsAt"] == read["currentPeriodEnd"]
        assert str(graph.GlobalID.from_id(sub["id"]).node_id) == sub["databaseId"]

        query = "query($id: ID!) { node(id: $id) { id ... on BillingSubscription { status } } }"
        assert (await owner.data(query, id=sub["id"]))["node"] == {"id": sub["id"], "status": "TRIALING"}
        assert (await other.data(query, id=sub["id"]))["node"] is None  # another tenant's
        assert (await other.data("{ billingSubscription { id } }"))["billingSubscription"] is None
        unknown = str(graph.GlobalID("BillingSubscription", str(uuid.uuid4())))
        assert (await owner.data(query, id=unknown))["node"] is None

        # The edge a Tenant type builds on: the tenant's own subscription, null for any other.
        class Info:
            context = owner.ctx

        own, foreign = await asyncio.gather(
            BillingSubscription.for_tenant(Info, owner.ctx.principal.tenant_id),
            BillingSubscription.for_tenant(Info, other.ctx.principal.tenant_id),
        )
        assert own is not None and str(own.database_id) == sub["databaseId"] and foreign is None


async def test_events_are_a_filtered_connection_of_nodes_read_in_constant_statements(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        ctx = await tenant_member(services)
        owner = Caller(schema, ctx)
        other = Caller(schema, await tenant_member(services, tenant_name="Other"))
        t = str(ctx.principal.tenant_id)
        now = int(time.time())
        for n in range(12):
            kind = "created" if n == 0 else "updated"
            await ingest(ctx, subscription_event(f"customer.subscription.{kind}", t, now + n, seats=n + 1))
        invoice = {
            "id": f"evt_{uuid.uuid4().hex[:20]}",
            "type": "invoice.paid",
            "created": now + 20,
            "data": {
                "object": {
                    "id": "in_1",
                    "object": "invoice",
                    "status": "settled_somehow",  # not a status this API knows
                    "amount_due": 4900,
                    "currency": "usd",
                    "collection_method": "send_invoice",
                    "metadata": {"tenant_id": t},
                }
            },
        }
        await ingest(ctx, invoice)

        fields = "id type processingStatus occurredAt subscription { status seatCount plan { code } }"
        page = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
        query = f"""query($first: Int, $after: String, $last: Int, $before: String, $f: BillingEventFilter) {{
            billingSubscription {{ events(first: $first, after: $after, last: $last, before: $before, filter: $f)
            {{ {page} nodes {{ {fields} }} }} }} }}"""

        async def events(**args: Any) -> dict[str, Any]:
            return (await owner.data(query, **args))["billingSubscription"]["events"]

        await events(first=1)  # the request's tenant is decided once, on first use
        with statements(services) as small:
            await events(first=2)
        with statements(services) as large:
            newest = await events(first=13)
        assert len(small) == len(large)  # every event's plan through one loader: no N+1
        assert newest["totalCount"] == 13 and newest["pageInfo"]["hasNextPage"] is False
        assert [e["type"] for e in newest["nodes"][:2]] == ["invoice.paid", "customer.subscription.updated"]
        assert newest["nodes"][1]["subscription"] == {"status": "ACTIVE", "seatCount": 12, "plan": {"code": "pro"}}

        seen, after = [], None
        while True:
            chunk = await events(first=5, after=after, f={"type": "customer.subscription.updated"})
            seen += [e["subscription"]["seatCount"] for e in chunk["nodes"]]
            assert chunk["totalCount"] == 11
            if not chunk["pageInfo"]["hasNextPage"]:
                break
            after = chunk["pageInfo"]["endCursor"]
        assert seen == list(range(12, 1, -1))
        oldest = await events(last=1)
        assert [e["type"] for e in oldest["nodes"]] == ["customer.subscription.created"]
        before = await events(last=2, before=oldest["pageInfo"]["startCursor"])
        assert [e["subscription"]["seatCount"] for e in before["nodes"]] == [3, 2]
        assert (await events(f={"processingStatus": "FAILED"}))["totalCount"] == 0
        assert (await events(f={"processingStatus": "PROCESSED"}))["totalCount"] == 13

        paid = (
            await owner.data(
                """{ billingSubscription { events(first: 1) { nodes { id databaseId stripeEventId
                   invoice { invoiceId status amountDueCents collectionMethod } subscription { status } } } } }"""
            )
        )["billingSubscription"]["events"]["nodes"][0]
        assert paid["stripeEventId"] == invoice["id"] and paid["subscription"] is None
        assert paid["invoice"] == {
            "invoiceId": "in_1",
            "status": None,
            "amountDueCents": 4900,
            "collectionMethod": "SEND_INVOICE",
        }
        node = "query($id: ID!) { node(id: $id) { id ... on BillingEvent { type } } }"
        assert (await owner.data(node, id=paid["id"]))["node"] == {"id": paid["id"], "type": "invoice.paid"}
        assert (await other.data(node, id=paid["id"]))["node"] is None
        bad_cursor = await owner(query, after="nonsense")
        assert code_of(bad_cursor) == "INVALID_INPUT" and bad_cursor.data == {"billingSubscription": None}


async def test_mutations_answer_payloads_with_user_errors_in_graphql_names(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        owner = Caller(schema, await tenant_member(services))
        plans = await plan_ids(owner)

        update = f"mutation($i: UpdateSubscriptionInput!) {{ updateSubscription(input: $i) {{ subscription {{ id seatCount plan {{ code }} }} {PAYLOAD} }} }}"
        cancel = f"mutation($i: CancelSubscriptionInput!) {{ cancelSubscription(input: $i) {{ subscription {{ status autoRenew cancelAt }} {PAYLOAD} }} }}"
        nothing = (await owner.data(update, i={"seatCount": 2}))["updateSubscription"]
        assert nothing == {
            "subscription": None,
            "userErrors": [{"field": None, "message": "Subscription not found.", "code": "NOT_FOUND"}],
        }

        bad = await owner.start(plans["starter"], billingEmail="nope", seatCount=0)
        assert bad["subscription"] is None
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
            (["input", "billingEmail"], "INVALID"),
            (["input", "seatCount"], "INVALID"),
        ]
        not_a_plan = await owner.start(str(graph.GlobalID("BillingSubscription", str(uuid.uuid4()))))
        assert [(e["field"], e["code"]) for e in not_a_plan["userErrors"]] == [(["input", "planId"], "INVALID")]
        unknown = await owner.start(str(graph.GlobalID("BillingPlan", "platinum")))
        assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [(["input", "planId"], "NOT_FOUND")]

        started = await owner.start(plans["starter"])
        assert started["userErrors"] == [] and started["subscription"]["status"] == "ACTIVE"
        again = await owner.start(plans["pro"])
        assert again["subscription"] is None and again["userErrors"][0]["code"] == "CONFLICT"

        empty = (await owner.data(update, i={}))["updateSubscription"]
        assert empty["userErrors"] == [
            {"field": None, "message": "No subscription changes were provided.", "code": "INVALID"}
        ]
        moved = (await owner.data(update, i={"planId": plans["pro"], "seatCount": 4}))["updateSubscription"]
        assert moved["subscription"]["plan"] == {"code": "pro"} and moved["subscription"]["seatCount"] == 4
        assert moved["subscription"]["id"] == started["subscription"]["id"]

        later = (await owner.data(cancel, i={}))["cancelSubscription"]["subscription"]
        assert later["status"] == "ACTIVE" and later["autoRenew"] is False and later["cancelAt"]
        ended = (await owner.data(cancel, i={"atPeriodEnd": False}))["cancelSubscription"]["subscription"]
        assert ended["status"] == "CANCELED"
        twice = (await owner.data(cancel, i={"atPeriodEnd": False}))["cancelSubscription"]
        assert twice["subscription"] is None and twice["userErrors"][0]["code"] == "CONFLICT"

        record = f"mutation($i: RecordUsageInput!) {{ recordUsage(input: $i) {{ usage {{ featureKey quantity }} {PAYLOAD} }} }}"
        zero = (await owner.data(record, i={"featureKey": "messages", "quantity": 0}))["recordUsage"]
        assert [(e["field"], e["code"]) for e in zero["userErrors"]] == [(["input", "quantity"], "INVALID")]
        half = (
            await owner.data(record, i={"featureKey": "messages", "quantity": 1, "periodStart": "2026-01-01T00:00:00Z"})
        )["recordUsage"]
        assert [e["field"] for e in half["userErrors"]] == [["input", "periodEnd"]]
        recorded = (await owner.data(record, i={"featureKey": "messages", "quantity": 7}))["recordUsage"]
        assert recorded == {"usage": {"featureKey": "messages", "quantity": 7}, "userErrors": []}
        usage = await owner.data("{ billingUsage { totalCount nodes { featureKey quantity } } }")
        assert {"featureKey": "messages", "quantity": 7} in usage["billingUsage"]["nodes"]


async def test_permissions_are_top_level_errors(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        admin = Caller(schema, await tenant_member(services, "admin"))
        member_ctx = await tenant_member(services, "member")
        member = Caller(schema, member_ctx)
        anonymous = Caller(schema, client(services))
        plans = await plan_ids(anonymous)
        start = (
            "mutation($p: ID!) { startSubscription(input: {planId: $p}) { subscription { id } userErrors { code } } }"
        )

        denied = await member(start, p=plans["starter"])
        assert code_of(denied) == "FORBIDDEN" and denied.data is None
        assert (await member.data("{ billingSubscription { id } }")) == {"billingSubscription": None}  # reads
        assert code_of(await anonymous("{ billingSubscription { id } }")) == "UNAUTHENTICATED"
        assert code_of(await anonymous("{ billingUsage { totalCount } }")) == "UNAUTHENTICATED"
        assert (await admin.data(start, p=plans["starter"]))["startSubscription"]["userErrors"] == []

        async with services.db.session(member_ctx.principal.tenant_id) as s:  # the tenant turns billing off
            s.add(TenantSettings(flags={"feature.billing": False}))
            await s.commit()
        off = await member("{ billingPlans { totalCount } billingSubscription { id } }")
        assert code_of(off) == "FORBIDDEN" and off.errors[0].path == ["billingSubscription"]
        assert off.data == {"billingPlans": {"totalCount": 3}, "billingSubscription": None}


async def test_an_operator_reaches_another_tenants_billing_by_acting_in_it(tmp_path):
    """No billing field takes a tenant id: an operator names the tenant with `X-Tenant-Id` (which
    takes `platform:operator`), and every billing field, mutations included, acts there."""
    from starlette.requests import Request

    from agentdeck.auth.tenancy import Principal
    from agentdeck.context import Context

    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        customer = Caller(schema, await tenant_member(services, "owner", "Customer Co"))
        plans = await plan_ids(customer)
        await customer.start(plans["starter"])
        own = await tenant_member(services, "owner", "Operations")
        target = customer.ctx.principal.tenant_id

        def acting(scopes: set[str]) -> Caller:
            headers = [(b"x-tenant-id", str(target).encode())]
            request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
            principal = Principal(
                subject=own.principal.subject,
                scopes=frozenset(scopes),
                tenant_id=own.principal.tenant_id,
                roles=("owner",),
                claims={"email_verified": True},
            )
            return Caller(schema, Context(services=services, principal=principal, request=request))

        operator = acting({"platform:operator", "billing:manage"})
        read = await operator.data("{ billingSubscription { id plan { code } } }")
        mine = await customer.data("{ billingSubscription { id } }")
        assert read["billingSubscription"]["id"] == mine["billingSubscription"]["id"]
        changed = await operator.data(
            "mutation { updateSubscription(input: {seatCount: 2}) { subscription { seatCount } userErrors { code } } }"
        )
        assert changed["updateSubscription"] == {"subscription": {"seatCount": 2}, "userErrors": []}

        class Info:
            context = operator.ctx

        assert (await BillingSubscription.for_tenant(Info, target)) is not None

        not_operator = acting({"billing:manage"})
        refused = await not_operator("{ billingSubscription { id } }")
        assert code_of(refused) == "FORBIDDEN"


async def test_the_input_carries_the_idempotency_key(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        owner = Caller(build_schema(services.settings), await tenant_member(services))
        plans = await plan_ids(owner)
        first = await owner.start(plans["starter"], idempotencyKey="start-1")
        retry = await owner.start(plans["starter"], idempotencyKey="start-1")
        assert first["userErrors"] == [] and retry == first  # the first answer, the same subscription
        other = await owner.start(plans["pro"], idempotencyKey="start-1")
        assert [(e["field"], e["code"]) for e in other["userErrors"]] == [(["input", "idempotencyKey"], "INVALID")]
        query = "mutation($i: StartSubscriptionInput!) { startSubscription(input: $i) { userErrors { code } } }"
        malformed = await owner(query, i={"planId": plans["pro"], "idempotencyKey": "has space"})
        assert code_of(malformed) == "INVALID_INPUT"  # the key's own limits: checked before anything runs
