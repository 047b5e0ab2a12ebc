"""The edges between domains on the native graph, in-process (tests/inprocess.py): a tenant leads
to its billing subscription and plan, a workflow run to the conversation it records. Edges follow
the domains' layering (workflows over chat over files): the files domain's nodes name agents and
conversations by key and id (`agentKey`, `conversationId`), the nodes above them link down
(`Agent.vectorStores`). Each edge reads through the caller's context: another tenant's caller sees
none of it."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from agentdeck.domain.billing import sync_plans
from agentdeck.schema import build_schema
from tests.inprocess import platform, tenant_member


async def test_edges_lead_across_domains_and_stay_in_the_tenant(tmp_path):
    async with platform(tmp_path) as services:
        await sync_plans(services.db)
        schema = build_schema(services.settings)
        owner = await tenant_member(services, "owner", "Edges Co")
        other = await tenant_member(services, "owner", "Other Co")

        async def gql(ctx: Any, query: str, **variables: Any) -> dict[str, Any]:
            ctx.loaders.clear()
            result = await schema.execute(query, variable_values=variables, context_value=ctx)
            assert result.errors is None, result.errors
            return result.data

        # Tenant -> billing subscription -> plan (null before the tenant subscribes).
        assert await gql(owner, "{ tenant { billingSubscription { id } } }") == {
            "tenant": {"billingSubscription": None}
        }
        plans = await gql(owner, "{ billingPlans { nodes { id code } } }")
        pro = next(p["id"] for p in plans["billingPlans"]["nodes"] if p["code"] == "pro")
        started = await gql(
            owner,
            "mutation($i: StartSubscriptionInput!) { startSubscription(input: $i) { subscription { id } } }",
            i={"planId": pro, "billingEmail": "ap@edges.example"},
        )
        tenant = (await gql(owner, "{ tenant { billingSubscription { id plan { code } } } }"))["tenant"]
        assert tenant["billingSubscription"] == {
            "id": started["startSubscription"]["subscription"]["id"],
            "plan": {"code": "pro"},
        }
        assert (await gql(other, "{ tenant { billingSubscription { id } } }"))["tenant"]["billingSubscription"] is None

        # Workflow run -> its conversation.
        run = (
            await gql(
                owner,
                "mutation($i: StartWorkflowRunInput!) { startWorkflowRun(input: $i) { run { id conversation { id databaseId } } } }",
                i={"workflowId": str(relay.GlobalID("Workflow", "analysis_code")), "message": "edges"},
            )
        )["startWorkflowRun"]["run"]
        conversation = run["conversation"]
        assert conversation is not None and conversation["id"] == str(
            relay.GlobalID("Conversation", conversation["databaseId"])
        )

        # Another tenant reaches none of these objects, so none of their edges.
        ids = [run["id"], conversation["id"]]
        assert (await gql(other, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids))["nodes"] == [None] * 2
