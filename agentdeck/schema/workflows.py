"""Workflows: the catalog, runs (sync and streamed), run history and cancel."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from agentdeck.db.models import WorkflowRun
from agentdeck.domain.catalog import WorkflowSpec, WorkflowStage, WorkflowStep
from agentdeck.domain.workflows import runs as rw
from agentdeck.schema.chat import READ, WRITE, InputAttachment
from agentdeck.schema.chat_events import StreamEvent, to_event
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import PageSize


@strawberry.enum
class WorkflowRunStatus(Enum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


@strawberry.enum
class WorkflowStageMode(Enum):
    sequential = "sequential"
    parallel = "parallel"


@strawberry.type
class WorkflowSummary:
    key: str
    display_name: str
    description: str
    step_count: int
    default: bool

    @classmethod
    def from_spec(cls, spec: WorkflowSpec) -> WorkflowSummary:
        return cls(
            key=spec.key,
            display_name=spec.display_name,
            description=spec.description,
            step_count=spec.step_count,
            default=spec.default,
        )


@strawberry.type
class WorkflowPage:
    items: list[WorkflowSummary]
    next_cursor: str | None
    total: int

    @classmethod
    def from_page(cls, page: rw.WorkflowPage) -> WorkflowPage:
        return cls(
            items=[WorkflowSummary.from_spec(s) for s in page.items], next_cursor=page.next_cursor, total=page.total
        )


@strawberry.type
class WorkflowStepDescriptor:
    name: str
    agent_key: str
    guard: str | None
    guard_type: str | None
    input_mapper: str | None
    input_mapper_type: str | None
    max_turns: int | None
    output_schema: JSON | None

    @classmethod
    def from_spec(cls, step: WorkflowStep) -> WorkflowStepDescriptor:
        # Guards and input mappers are named functions (`domain/catalog/workflows.py`).
        return cls(
            name=step.step_name,
            agent_key=step.agent_key,
            guard=step.guard,
            guard_type="function",
            input_mapper=step.input_mapper,
            input_mapper_type="function",
            max_turns=step.max_turns,
            output_schema=JSON(step.output_schema),
        )


@strawberry.type
class WorkflowStageDescriptor:
    name: str
    mode: WorkflowStageMode
    reducer: str | None
    steps: list[WorkflowStepDescriptor]

    @classmethod
    def from_spec(cls, stage: WorkflowStage) -> WorkflowStageDescriptor:
        return cls(
            name=stage.name,
            mode=WorkflowStageMode(stage.mode),
            reducer=stage.reducer,
            steps=[WorkflowStepDescriptor.from_spec(s) for s in stage.steps],
        )


@strawberry.type
class WorkflowDescriptor:
    key: str
    display_name: str
    description: str
    default: bool
    allow_handoff_agents: bool
    step_count: int
    stages: list[WorkflowStageDescriptor]
    output_schema: JSON | None

    @classmethod
    def from_spec(cls, spec: WorkflowSpec) -> WorkflowDescriptor:
        return cls(
            key=spec.key,
            display_name=spec.display_name,
            description=spec.description,
            default=spec.default,
            allow_handoff_agents=spec.allow_handoff_agents,
            step_count=spec.step_count,
            stages=[WorkflowStageDescriptor.from_spec(s) for s in spec.stages],
            output_schema=JSON(spec.output_schema),
        )


@strawberry.type
class WorkflowStepResult:
    name: str
    agent_key: str
    response_text: str | None
    structured_output: JSON | None
    response_id: str | None
    stage_name: str | None
    parallel_group: str | None
    branch_index: int | None
    output_schema: JSON | None

    @classmethod
    def from_result(cls, step: rw.StepResult) -> WorkflowStepResult:
        return cls(
            name=step.name,
            agent_key=step.agent_key,
            response_text=step.response_text,
            structured_output=JSON(step.structured_output),
            response_id=step.response_id,
            stage_name=step.stage_name,
            parallel_group=step.parallel_group,
            branch_index=step.branch_index,
            output_schema=None,
        )


@strawberry.type
class WorkflowRunResponse:
    workflow_key: str
    workflow_run_id: str
    conversation_id: str
    steps: list[WorkflowStepResult]
    final_output: JSON | None
    output_schema: JSON | None
    attachments: list[JSON] | None

    @classmethod
    def from_result(cls, result: rw.RunResult) -> WorkflowRunResponse:
        return cls(
            workflow_key=result.workflow_key,
            workflow_run_id=result.workflow_run_id,
            conversation_id=result.conversation_id,
            steps=[WorkflowStepResult.from_result(s) for s in result.steps],
            final_output=JSON(result.final_output),
            output_schema=JSON(result.output_schema),
            attachments=[],
        )


@strawberry.type
class WorkflowRunListItem:
    workflow_run_id: str
    workflow_key: str
    status: WorkflowRunStatus
    started_at: datetime
    ended_at: datetime | None
    user_id: str
    conversation_id: str | None
    step_count: int
    duration_ms: int | None
    final_output_text: str | None

    @classmethod
    def from_row(cls, run: WorkflowRun, step_count: int) -> WorkflowRunListItem:
        duration_ms = int((run.ended_at - run.started_at).total_seconds() * 1000) if run.ended_at else None
        return cls(
            workflow_run_id=str(run.id),
            workflow_key=run.workflow_key,
            status=WorkflowRunStatus(run.status),
            started_at=run.started_at,
            ended_at=run.ended_at,
            user_id=str(run.user_id or ""),
            conversation_id=str(run.conversation_id) if run.conversation_id else None,
            step_count=step_count,
            duration_ms=duration_ms,
            final_output_text=run.final_output_text,
        )


@strawberry.type
class WorkflowRunPage:
    items: list[WorkflowRunListItem]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: rw.RunPage) -> WorkflowRunPage:
        return cls(
            items=[WorkflowRunListItem.from_row(r, page.step_counts.get(r.id, 0)) for r in page.runs],
            next_cursor=page.next_cursor,
        )


GRAPHQL_ONLY = {"rest": {"skip": True}}


@strawberry.type
class WorkflowRunDetail:
    workflow_key: str
    workflow_run_id: str
    tenant_id: str
    user_id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    final_output_text: str | None
    final_output_structured: JSON | None
    request_message: str | None
    conversation_id: str | None
    output_schema: JSON | None
    steps: list[WorkflowStepResult]
    # GraphQL only: the legacy REST body stays as documented.
    error: str | None = strawberry.field(description="Why a failed run failed.", metadata=GRAPHQL_ONLY)
    stream_id: str | None = strawberry.field(
        description="Follow it with the `workflowRunEvents` subscription.", metadata=GRAPHQL_ONLY
    )

    @classmethod
    def from_record(cls, record: rw.RunRecord) -> WorkflowRunDetail:
        run = record.run
        return cls(
            workflow_key=run.workflow_key,
            workflow_run_id=str(run.id),
            tenant_id=str(run.tenant_id),
            user_id=str(run.user_id or ""),
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            final_output_text=run.final_output_text,
            final_output_structured=JSON(run.final_output_structured),
            request_message=run.request_message,
            conversation_id=str(run.conversation_id) if run.conversation_id else None,
            output_schema=JSON(record.spec.output_schema if record.spec else None),
            steps=[WorkflowStepResult.from_result(s) for s in record.steps],
            error=run.error,
            stream_id=run.stream_id,
        )


@strawberry.type
class WorkflowRunCancel:
    workflow_run_id: str
    success: bool

    @classmethod
    def from_run_id(cls, run_id: uuid.UUID) -> WorkflowRunCancel:
        return cls(workflow_run_id=str(run_id), success=True)  # a run that cannot be cancelled is an error


@strawberry.type(
    description="A started run: follow it with `workflowRunEvents`, or cancel it with `cancelWorkflowRun`."
)
class WorkflowRunStarted:
    workflow_run_id: uuid.UUID
    stream_id: str
    conversation_id: uuid.UUID

    @classmethod
    def from_started(cls, started: rw.StartedRun) -> WorkflowRunStarted:
        return cls(workflow_run_id=started.run_id, stream_id=started.stream_id, conversation_id=started.conversation_id)


@strawberry.input(description="A workflow run request. Fields after `conversation_id` are accepted for legacy clients.")
class WorkflowRunInput:
    message: str
    conversation_id: str | None = None
    attachments: list[InputAttachment] | None = None
    location: JSON | None = None
    share_location: bool | None = None
    container_overrides: JSON | None = None
    vector_store_overrides: JSON | None = None


def _request(input: WorkflowRunInput) -> rw.WorkflowRequest:
    return rw.WorkflowRequest(input.message, input.conversation_id)


@strawberry.type
class Query:
    @strawberry.field(extensions=READ, description="The workflow catalog (sorted by key).")
    def workflows(self, first: PageSize = 24, after: str | None = None, search: str | None = None) -> WorkflowPage:
        return WorkflowPage.from_page(rw.list_workflows(first, after, search))

    @strawberry.field(extensions=READ)
    def workflow(self, workflow_key: str) -> WorkflowDescriptor:
        return WorkflowDescriptor.from_spec(rw.get_workflow(workflow_key))

    @strawberry.field(extensions=READ, description="This tenant's workflow runs, newest first.")
    async def workflow_runs(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: str | None = None,
        workflow_key: str | None = None,
        run_status: str | None = None,
        started_before: str | None = None,
        started_after: str | None = None,
        conversation_id: str | None = None,
    ) -> WorkflowRunPage:
        page = await rw.list_runs(
            info.context, first, after, workflow_key, run_status, started_before, started_after, conversation_id
        )
        return WorkflowRunPage.from_page(page)

    @strawberry.field(extensions=READ)
    async def workflow_run(self, info: strawberry.Info, run_id: str) -> WorkflowRunDetail:
        return WorkflowRunDetail.from_record(await rw.get_run(info.context, run_id))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Run a workflow and wait for its result.")
    async def run_workflow(
        self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput, idempotency_key: IdempotencyKey = None
    ) -> WorkflowRunResponse:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        return WorkflowRunResponse.from_result(await rw.run_workflow(info.context, workflow_key, _request(input), idem))

    @strawberry.mutation(extensions=WRITE, description="Start a workflow run without waiting for it.")
    async def start_workflow_run(
        self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput, idempotency_key: IdempotencyKey = None
    ) -> WorkflowRunStarted:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        started = await rw.start_workflow_run(info.context, workflow_key, _request(input), idem)
        return WorkflowRunStarted.from_started(started)

    @strawberry.mutation(
        extensions=WRITE, description="Cancel a running workflow: its in-flight model call is stopped."
    )
    async def cancel_workflow_run(self, info: strawberry.Info, run_id: str) -> WorkflowRunCancel:
        return WorkflowRunCancel.from_run_id(await rw.cancel_run(info.context, run_id))


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=WRITE, description="Run a workflow and stream its events (one final).")
    async def workflow_run_stream(
        self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput, idempotency_key: IdempotencyKey = None
    ) -> AsyncGenerator[StreamEvent, None]:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        async for event in rw.run_workflow_stream(info.context, workflow_key, _request(input), idem):
            yield to_event(event)

    @strawberry.subscription(extensions=READ, description="A run's events after `afterSeq` (join or resume).")
    async def workflow_run_events(
        self, info: strawberry.Info, run_id: str, after_seq: int = 0
    ) -> AsyncGenerator[StreamEvent, None]:
        async for event in rw.run_events(info.context, run_id, after_seq):
            yield to_event(event)
