"""The tenant's daily usage counters, in-process (tests/inprocess.py): the tokens and requests of
chat turns and workflow runs, per tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from agentdeck.domain.billing.usage import usage_counters
from agentdeck.domain.chat.turns import ChatRequest, chat
from agentdeck.domain.workflows import runs
from agentdeck.domain.workflows.runs import WorkflowRequest
from tests.inprocess import platform, tenant_member


async def test_counters_add_up_the_turns_and_runs_of_the_day_for_their_tenant_only(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B", role="viewer")
        assert await usage_counters(a) == []

        answer = await chat(a, ChatRequest("count these words please"))
        usage = answer.metadata["usage"]
        [day] = await usage_counters(a)
        assert day.day == datetime.now(UTC).date()
        assert (day.input_tokens, day.output_tokens, day.requests) == (
            usage["input_tokens"],
            usage["output_tokens"],
            usage["requests"],
        )
        assert day.tenant_id == (await a.tenant_context()).tenant_id

        started = await runs.start_workflow_run(a, "analysis_code", WorkflowRequest("and a run"))
        [e async for e in runs.run_events(a, str(started.run_id))]
        [after] = await usage_counters(a)
        assert after.id == day.id  # one counter a day
        assert after.requests == day.requests + 2 and after.input_tokens > day.input_tokens
        assert after.updated_at >= day.updated_at

        assert await usage_counters(b) == []  # a viewer of another tenant sees its own (none)
