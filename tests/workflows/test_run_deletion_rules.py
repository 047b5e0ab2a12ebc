"""Deleting a workflow run, in-process (tests/inprocess.py): a finished run goes with its steps and
its ledger items (the conversation stays); a running one is a conflict; another tenant's is not
found; members may not delete."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agentdeck.db.models import ConversationEvent, WorkflowRunStep
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.workflows import runs
from agentdeck.domain.workflows.runs import WorkflowRequest
from agentdeck.errors import Conflict, Forbidden, NotFound
from tests.inprocess import platform, tenant_member


async def _finished(ctx, run_id) -> list[dict]:
    return [e async for e in runs.run_events(ctx, str(run_id))]


async def _count(ctx, model, *where) -> int:
    async with ctx.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_finished_run_is_deleted_with_its_steps_and_ledger_items(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        kept = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("keep me"))
        gone = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("delete me"))
        for started in (kept, gone):
            await _finished(ctx, started.run_id)
        assert await _count(ctx, WorkflowRunStep, WorkflowRunStep.run_id == gone.run_id) == 2
        assert await _count(ctx, ConversationEvent, ConversationEvent.workflow_run_id == str(gone.run_id)) > 0

        other = await tenant_member(services, tenant_name="Other")
        with pytest.raises(NotFound):
            await runs.delete_run(other, str(gone.run_id))
        member = await tenant_member(services, role="member")
        with pytest.raises(Forbidden):
            await runs.delete_run(member, str(gone.run_id))

        assert await runs.delete_run(ctx, str(gone.run_id), reason="cleanup") == gone.run_id
        with pytest.raises(NotFound):
            await runs.get_run(ctx, str(gone.run_id))
        assert await _count(ctx, WorkflowRunStep, WorkflowRunStep.run_id == gone.run_id) == 0
        assert await _count(ctx, ConversationEvent, ConversationEvent.workflow_run_id == str(gone.run_id)) == 0
        assert (await rv.get_history(ctx, str(gone.conversation_id))).messages  # the conversation stays
        assert [r.id for r in (await runs.list_runs(ctx)).runs] == [kept.run_id]
        assert await _count(ctx, WorkflowRunStep, WorkflowRunStep.run_id == kept.run_id) == 2
        with pytest.raises(NotFound):  # once only
            await runs.delete_run(ctx, str(gone.run_id))
        with pytest.raises(NotFound):
            await runs.delete_run(ctx, "not-a-uuid")


async def test_a_running_run_is_not_deleted(tmp_path):
    # The model writes slowly enough that the run is still running when the delete comes.
    async with platform(tmp_path, offline_model_delay_ms=50) as services:
        ctx = await tenant_member(services)
        started = await runs.start_workflow_run(ctx, "research_report_pdf", WorkflowRequest("a long report"))
        with pytest.raises(Conflict):
            await runs.delete_run(ctx, str(started.run_id))
        assert (await runs.get_run(ctx, str(started.run_id))).run.status == "running"
        await runs.cancel_run(ctx, str(started.run_id))
        await _finished(ctx, started.run_id)
        await runs.delete_run(ctx, str(started.run_id))
        assert (await runs.list_runs(ctx)).runs == []
