"""Workflow rules, in-process (tests/inprocess.py): spec validation (unknown agents, mappers,
guards, reducers, modes, empty stages, several defaults); the catalog listing (order, search,
cursor); a run's history (sequential steps in order, each fed the previous output; parallel
branches reduced into the next stage) and its stream (numbered 1..n, one terminal event, each
step's workflow context); idempotent starts; the run/cancel state rules; run listing filters;
tenant isolation of runs."""

from __future__ import annotations

import dataclasses

import pytest

from agentdeck.domain.catalog.workflows import WORKFLOWS, WorkflowSpec, WorkflowStage, WorkflowStep, validate
from agentdeck.domain.chat.turns import MAX_MESSAGE_CHARS
from agentdeck.domain.common import idempotency
from agentdeck.domain.workflows import runs
from agentdeck.domain.workflows.runs import WorkflowRequest
from agentdeck.errors import Conflict, InvalidInput, NotFound
from tests.inprocess import platform, tenant_member

OFFLINE = "[offline model] You said: "


def test_a_spec_naming_what_does_not_exist_is_refused_with_every_problem():
    bad = WorkflowSpec(
        "broken",
        "Broken",
        "",
        stages=(
            WorkflowStage("empty", ()),
            WorkflowStage(
                "odd",
                (
                    WorkflowStep("ghost", input_mapper="shout", guard="never"),
                    WorkflowStep("researcher", "r", max_turns=0),
                ),
                mode="sideways",
                reducer="sum",
            ),
        ),
    )
    with pytest.raises(ValueError) as exc:
        validate((bad,))
    assert str(exc.value) == (
        "workflow spec 'broken': stage 'empty' has no steps; stage 'odd' has unknown mode 'sideways'; "
        "stage 'odd' has unknown reducer 'sum'; step 'ghost' names unknown agent 'ghost'; "
        "step 'ghost' has unknown input mapper 'shout'; step 'ghost' has unknown guard 'never'; "
        "step 'r' has max_turns 0 (at least 1)"
    )
    with pytest.raises(ValueError, match="no stages"):
        validate((WorkflowSpec("none", "None", "", stages=()),))
    shipped = tuple(WORKFLOWS.values())
    with pytest.raises(ValueError, match="more than one default"):
        validate((*shipped, dataclasses.replace(shipped[1], key="another", default=True)))
    validate(shipped)  # the shipped catalog is valid


def test_the_catalog_lists_by_key_searches_and_pages():
    everything = runs.list_workflows(50, None, None)
    assert [s.key for s in everything.items] == ["analysis_code", "analysis_parallel", "research_report_pdf"]
    assert (everything.total, everything.next_cursor) == (3, None)

    first = runs.list_workflows(2, None, None)
    assert [s.key for s in first.items] == ["analysis_code", "analysis_parallel"]
    rest = runs.list_workflows(2, first.next_cursor, None)
    assert ([s.key for s in rest.items], rest.next_cursor, rest.total) == (["research_report_pdf"], None, 3)

    pdf = runs.list_workflows(50, None, "  PDF ")  # case-insensitive, trimmed, over name and text
    assert [s.key for s in pdf.items] == ["research_report_pdf"] and pdf.total == 1
    assert runs.list_workflows(50, None, "synthesis").items[0].key == "analysis_parallel"
    with pytest.raises(InvalidInput) as exc:
        runs.list_workflows(50, None, "   ")
    assert exc.value.details == [{"field": "search", "message": "1-256 characters"}]
    with pytest.raises(NotFound):
        runs.get_workflow("nope")


async def _finished(ctx, run_id) -> list[dict]:
    return [e async for e in runs.run_events(ctx, str(run_id))]


async def test_a_sequential_run_passes_each_output_on_and_streams_one_terminal_event(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services, role="member")
        started = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("  compare two sorts "))
        events = await _finished(ctx, started.run_id)

        assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
        assert [e["kind"] for e in events if e["kind"] in ("final", "error")] == ["final"]
        assert events[-1]["kind"] == "final" and events[-1]["final"]["status"] == "completed"
        assert {e["stream_id"] for e in events} == {started.stream_id}
        steps_seen = [e["workflow"]["step_name"] for e in events if e["kind"] == "lifecycle" and e["agent"]]
        assert steps_seen[:2] == ["analysis", "code"]

        record = await runs.get_run(ctx, str(started.run_id))
        assert record.run.status == "succeeded" and record.run.ended_at is not None
        assert record.run.request_message == "compare two sorts"
        assert [(s.name, s.agent_key) for s in record.steps] == [("analysis", "researcher"), ("code", "code_assistant")]
        # The code step was given the analysis step's output (passthrough).
        assert record.steps[0].response_text == OFFLINE + "compare two sorts"
        assert record.steps[1].response_text == OFFLINE + record.steps[0].response_text
        assert record.run.final_output_text == record.steps[1].response_text
        assert events[-1]["final"]["response_text"] == record.run.final_output_text

        with pytest.raises(Conflict) as exc:  # only a running run can be cancelled
            await runs.cancel_run(ctx, str(started.run_id))
        assert exc.value.message == "Workflow run is not active"


async def test_a_parallel_stage_reduces_its_branches_into_the_next_stage(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        started = await runs.start_workflow_run(ctx, "analysis_parallel", WorkflowRequest("plan a cache"))
        events = await _finished(ctx, started.run_id)
        branches = {
            (e["workflow"]["parallel_group"], e["workflow"]["branch_index"], e["workflow"]["step_name"])
            for e in events
            if e["workflow"]["step_name"] in ("analysis", "code")
        }
        assert branches == {("fanout", 0, "analysis"), ("fanout", 1, "code")}
        record = await runs.get_run(ctx, str(started.run_id))
        by_name = {s.name: s for s in record.steps}
        assert by_name["synthesis"].parallel_group is None
        assert by_name["analysis"].response_text == by_name["code"].response_text == OFFLINE + "plan a cache"
        # concat_outputs, in branch order, is the synthesis step's input.
        merged = by_name["analysis"].response_text + "\n\n" + by_name["code"].response_text
        assert by_name["synthesis"].response_text == OFFLINE + merged
        assert record.steps[-1].name == "synthesis"


async def test_starting_is_idempotent_and_validates_the_message(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        key = idempotency.Idempotency("run-1", {"key": "analysis_code", "message": "hi"})
        first = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("hi"), key)
        again = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("hi"), key)
        assert (again.run_id, again.stream_id, again.conversation_id) == (
            first.run_id,
            first.stream_id,
            first.conversation_id,
        )
        await _finished(ctx, first.run_id)
        assert len((await runs.list_runs(ctx)).runs) == 1

        for message in ("   ", "x" * (MAX_MESSAGE_CHARS + 1)):
            with pytest.raises(InvalidInput) as exc:
                await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest(message))
            assert exc.value.details[0]["field"] == "input.message"
        with pytest.raises(NotFound):
            await runs.start_workflow_run(ctx, "no_such_workflow", WorkflowRequest("hi"))
        assert len((await runs.list_runs(ctx)).runs) == 1  # refused starts leave no run


async def test_cancel_ends_a_running_run_cancelled_once(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        started = await runs.start_workflow_run(ctx, "analysis_code", WorkflowRequest("long task"))
        assert await runs.cancel_run(ctx, str(started.run_id)) == started.run_id
        events = await _finished(ctx, started.run_id)
        assert events[-1]["kind"] == "final" and events[-1]["final"]["status"] == "cancelled"
        record = await runs.get_run(ctx, str(started.run_id))
        assert record.run.status == "cancelled" and record.run.final_output_text is None
        with pytest.raises(Conflict):
            await runs.cancel_run(ctx, str(started.run_id))


async def test_runs_are_listed_newest_first_with_filters_and_kept_to_their_tenant(tmp_path):
    # The model writes slowly enough that the second run is still running when it is cancelled
    # (with no delay it could finish first, and the cancel was a Conflict).
    async with platform(tmp_path, offline_model_delay_ms=20) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        done = await runs.start_workflow_run(a, "analysis_code", WorkflowRequest("one"))
        await _finished(a, done.run_id)
        stopped = await runs.start_workflow_run(a, "research_report_pdf", WorkflowRequest("two"))
        await runs.cancel_run(a, str(stopped.run_id))
        await _finished(a, stopped.run_id)

        listed = await runs.list_runs(a)
        assert [r.id for r in listed.runs] == [stopped.run_id, done.run_id]
        assert listed.step_counts[done.run_id] == 2
        assert [r.id for r in (await runs.list_runs(a, run_status="cancelled")).runs] == [stopped.run_id]
        assert [r.id for r in (await runs.list_runs(a, workflow_key="analysis_code")).runs] == [done.run_id]
        by_conversation = await runs.list_runs(a, conversation_id=str(done.conversation_id))
        assert [r.id for r in by_conversation.runs] == [done.run_id]
        page = await runs.list_runs(a, first=1)
        assert [r.id for r in page.runs] == [stopped.run_id]
        assert [r.id for r in (await runs.list_runs(a, first=1, after=page.next_cursor)).runs] == [done.run_id]
        with pytest.raises(InvalidInput):
            await runs.list_runs(a, run_status="done")
        with pytest.raises(InvalidInput):
            await runs.list_runs(a, started_after="yesterday")

        assert (await runs.list_runs(b)).runs == []
        for call in (runs.get_run(b, str(done.run_id)), runs.cancel_run(b, str(done.run_id))):
            with pytest.raises(NotFound):
                await call
        with pytest.raises(NotFound):
            await runs.get_run(a, "not-a-uuid")
