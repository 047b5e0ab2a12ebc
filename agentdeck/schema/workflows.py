"""Workflows: the catalog, runs (sync and streamed), run history and cancel."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

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


@strawberry.type
class WorkflowPage:
    items: list[WorkflowSummary]
    next_cursor: str | None
    total: int


@strawberry.type
class WorkflowStepDescriptor:
    name: str = strawberry.field(resolver=lambda root: root.step_name)
    agent_key: str
    guard: str | None
    guard_type: str | None = strawberry.field(resolver=lambda: "function")
    input_mapper: str | None
    input_mapper_type: str | None = strawberry.field(resolver=lambda: "function")
    max_turns: int | None
    output_schema: JSON | None


@strawberry.type
class WorkflowStageDescriptor:
    name: str
    mode: WorkflowStageMode = strawberry.field(resolver=lambda root: WorkflowStageMode(root.mode))
    reducer: str | None
    steps: list[WorkflowStepDescriptor]


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


@strawberry.type
class WorkflowRunResponse:
    workflow_key: str
    workflow_run_id: str
    conversation_id: str
    steps: list[WorkflowStepResult]
    final_output: JSON | None
    output_schema: JSON | None
    attachments: list[JSON] | None


@strawberry.type
class WorkflowRunListItem:
    workflow_run_id: str
    workflow_key: str
    status: WorkflowRunStatus = strawberry.field(resolver=lambda root: WorkflowRunStatus(root.status))
    started_at: datetime
    ended_at: datetime | None
    user_id: str
    conversation_id: str | None
    step_count: int
    duration_ms: int | None
    final_output_text: str | None


@strawberry.type
class WorkflowRunPage:
    items: list[WorkflowRunListItem]
    next_cursor: str | None


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
    stream_id: str | None = strawberry.field(description="Follow it with the `workflowRunEvents` subscription.",
                                             metadata=GRAPHQL_ONLY)


@strawberry.type
class WorkflowRunCancel:
    workflow_run_id: str
    success: bool


@strawberry.type(description="A started run: follow it with `workflowRunEvents`, or cancel it with `cancelWorkflowRun`.")
class WorkflowRunStarted:
    workflow_run_id: uuid.UUID = strawberry.field(resolver=lambda root: root.run_id)
    stream_id: str
    conversation_id: uuid.UUID


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
        return rw.list_workflows(first, after, search)  # type: ignore[return-value]

    @strawberry.field(extensions=READ)
    def workflow(self, workflow_key: str) -> WorkflowDescriptor:
        return rw.get_workflow(workflow_key)  # type: ignore[return-value]

    @strawberry.field(extensions=READ, description="This tenant's workflow runs, newest first.")
    async def workflow_runs(self, info: strawberry.Info, first: PageSize = 20, after: str | None = None,
                            workflow_key: str | None = None, run_status: str | None = None,
                            started_before: str | None = None, started_after: str | None = None,
                            conversation_id: str | None = None) -> WorkflowRunPage:
        return await rw.list_runs(info.context, first, after, workflow_key, run_status, started_before,  # type: ignore[return-value]
                                  started_after, conversation_id)

    @strawberry.field(extensions=READ)
    async def workflow_run(self, info: strawberry.Info, run_id: str) -> WorkflowRunDetail:
        return await rw.get_run(info.context, run_id)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Run a workflow and wait for its result.")
    async def run_workflow(self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput,
                           idempotency_key: IdempotencyKey = None) -> WorkflowRunResponse:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        return await rw.run_workflow(info.context, workflow_key, _request(input), idem)  # type: ignore[return-value]

    @strawberry.mutation(extensions=WRITE, description="Start a workflow run without waiting for it.")
    async def start_workflow_run(self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput,
                                 idempotency_key: IdempotencyKey = None) -> WorkflowRunStarted:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        return await rw.start_workflow_run(info.context, workflow_key, _request(input), idem)  # type: ignore[return-value]

    @strawberry.mutation(extensions=WRITE, description="Cancel a running workflow: its in-flight model call is stopped.")
    async def cancel_workflow_run(self, info: strawberry.Info, run_id: str) -> WorkflowRunCancel:
        return await rw.cancel_run(info.context, run_id)  # type: ignore[return-value]


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=WRITE, description="Run a workflow and stream its events (one final).")
    async def workflow_run_stream(self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput,
                                  idempotency_key: IdempotencyKey = None) -> AsyncGenerator[StreamEvent, None]:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        async for event in rw.run_workflow_stream(info.context, workflow_key, _request(input), idem):
            yield to_event(event)

    @strawberry.subscription(extensions=READ, description="A run's events after `afterSeq` (join or resume).")
    async def workflow_run_events(self, info: strawberry.Info, run_id: str,
                                  after_seq: int = 0) -> AsyncGenerator[StreamEvent, None]:
        async for event in rw.run_events(info.context, run_id, after_seq):
            yield to_event(event)
