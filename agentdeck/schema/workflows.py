"""Workflows: the catalog, runs (sync and streamed), run history and cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db import models
from agentdeck.domain.catalog import WorkflowSpec
from agentdeck.domain.catalog import WorkflowStage as StageSpec
from agentdeck.domain.catalog import WorkflowStep as StepSpec
from agentdeck.domain.chat.turns import MAX_MESSAGE_CHARS
from agentdeck.domain.common import access
from agentdeck.domain.common import idempotency as ri
from agentdeck.domain.common.results import Page
from agentdeck.domain.workflows import runs as rw
from agentdeck.errors import Conflict, InvalidInput, NotFound
from agentdeck.schema import graph
from agentdeck.schema.chat import READ, WRITE, InputAttachment
from agentdeck.schema.chat_events import LegacyStreamEvent, StreamEvent, legacy_events, to_event
from agentdeck.schema.chat_nodes import Conversation, load_conversation
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import PageSize, limited
from agentdeck.schema.permissions import Scope, TenantRole, allow

T = TypeVar("T")


@strawberry.enum(name="LegacyWorkflowRunStatus")
class LegacyRunStatus(Enum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


@strawberry.enum(name="LegacyWorkflowStageMode")
class LegacyStageMode(Enum):
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
    def from_spec(cls, step: StepSpec) -> WorkflowStepDescriptor:
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
    mode: LegacyStageMode
    reducer: str | None
    steps: list[WorkflowStepDescriptor]

    @classmethod
    def from_spec(cls, stage: StageSpec) -> WorkflowStageDescriptor:
        return cls(
            name=stage.name,
            mode=LegacyStageMode(stage.mode),
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
    status: LegacyRunStatus
    started_at: datetime
    ended_at: datetime | None
    user_id: str
    conversation_id: str | None
    step_count: int
    duration_ms: int | None
    final_output_text: str | None

    @classmethod
    def from_row(cls, run: models.WorkflowRun, step_count: int) -> WorkflowRunListItem:
        duration_ms = int((run.ended_at - run.started_at).total_seconds() * 1000) if run.ended_at else None
        return cls(
            workflow_run_id=str(run.id),
            workflow_key=run.workflow_key,
            status=LegacyRunStatus(run.status),
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


# Deleting a run takes what deleting a conversation does: an admin's `workflows:delete`.
DELETE = allow(Scope("workflows:delete"), TenantRole("admin"))


@strawberry.type
class RestQuery:
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
class RestMutation:
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

    @strawberry.mutation(extensions=DELETE, description="Delete a finished run with its steps (409 while it runs).")
    async def delete_workflow_run(
        self,
        info: strawberry.Info,
        run_id: str,
        hard: bool = False,
        reason: Annotated[str | None, strawberry.argument(metadata=limited(rw.DELETE_REASON))] = None,
    ) -> bool:
        await rw.delete_run(info.context, run_id, reason)
        return True


@strawberry.type
class RestSubscription:
    @strawberry.subscription(extensions=WRITE, description="Run a workflow and stream its events (one final).")
    async def workflow_run_stream(
        self, info: strawberry.Info, workflow_key: str, input: WorkflowRunInput, idempotency_key: IdempotencyKey = None
    ) -> AsyncGenerator[LegacyStreamEvent, None]:
        idem = keyed(idempotency_key, workflow_key=workflow_key, input=input)
        async for event in legacy_events(rw.run_workflow_stream(info.context, workflow_key, _request(input), idem)):
            yield event

    @strawberry.subscription(extensions=READ, description="A run's events after `afterSeq` (join or resume).")
    async def workflow_run_events(
        self, info: strawberry.Info, run_id: str, after_seq: int = 0
    ) -> AsyncGenerator[LegacyStreamEvent, None]:
        async for event in legacy_events(rw.run_events(info.context, run_id, after_seq)):
            yield event


# == The native graph ==============================================================================
#
# `Workflow` (a catalog entry, keyed by its key) and `WorkflowRun` (a tenant's run) are nodes; a
# run's steps and a workflow's runs are connections read through per-request DataLoaders; the
# mutations take one input and answer a payload with `userErrors`; the subscriptions stream the
# `StreamEvent` union. The conversation a run belongs to and the agent a step names are edges into
# other domains and are not here yet.

RUNS_SCOPE = "conversations:read"  # what READ asks, for `node(id:)`, which has no field permission


async def _may_read(info: strawberry.Info) -> None:
    """READ's checks, for the reads that do not pass through a field that declares it."""
    access.require_scope(info.context, RUNS_SCOPE)
    await access.require_role(info.context, "viewer")


@strawberry.enum(description="Where a workflow run is: running, or how it ended.")
class WorkflowRunStatus(Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.enum(description="How a workflow run's step ended.")
class WorkflowRunStepStatus(Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    SKIPPED = "skipped"


@strawberry.enum(description="How a stage runs its steps.")
class WorkflowStageMode(Enum):
    SEQUENTIAL = strawberry.enum_value("sequential", description="In order; each step gets the previous output.")
    PARALLEL = strawberry.enum_value(
        "parallel", description="At once; every step gets the stage's input and a reducer merges their outputs."
    )


@strawberry.enum(description="A function that reshapes a step's input.")
class WorkflowInputMapper(Enum):
    PASSTHROUGH = strawberry.enum_value("passthrough", description="The previous output, unchanged.")
    TO_PDF_PROMPT = strawberry.enum_value(
        "to_pdf_prompt", description="Asks for the previous output laid out as a PDF report on the request."
    )


@strawberry.enum(description="A predicate on a step's input: when false, the step is skipped.")
class WorkflowStepGuard(Enum):
    HAS_INPUT = strawberry.enum_value("has_input", description="The previous output is not blank.")


@strawberry.enum(description="A function that merges a parallel stage's outputs.")
class WorkflowStageReducer(Enum):
    CONCAT_OUTPUTS = strawberry.enum_value(
        "concat_outputs", description="The non-empty outputs, in branch order, separated by blank lines."
    )


def _in_memory(items: Sequence[T]) -> Callable[[int, int], Awaitable[Page[T]]]:
    """A short list the domain holds in memory, read by offset and limit like a stored one (so its
    connection takes `first`/`after` as every other does)."""

    async def fetch(offset: int, limit: int) -> Page[T]:
        return Page(list(items[offset : offset + limit]), len(items))

    return fetch


@strawberry.type(description="One step of a stage: an agent, and how its input is made.")
class WorkflowStep:
    name: str = strawberry.field(description="The step's name, unique in its workflow.")
    agent_key: str = strawberry.field(description="The key of the agent that runs the step.")
    input_mapper: WorkflowInputMapper | None = strawberry.field(
        description="Reshapes the step's input; null: the previous output as it is."
    )
    guard: WorkflowStepGuard | None = strawberry.field(description="Skips the step when false; null: never skipped.")
    max_turns: int | None = strawberry.field(description="At most this many model turns; null: the agent's default.")
    output_schema: JSON | None = strawberry.field(description="The JSON Schema the step's output follows, if any.")

    @classmethod
    def from_spec(cls, step: StepSpec) -> WorkflowStep:
        return cls(
            name=step.step_name,
            agent_key=step.agent_key,
            input_mapper=WorkflowInputMapper(step.input_mapper) if step.input_mapper else None,
            guard=WorkflowStepGuard(step.guard) if step.guard else None,
            max_turns=step.max_turns,
            output_schema=JSON(step.output_schema) if step.output_schema is not None else None,
        )


@strawberry.type(description="A stage of a workflow: steps run in order or in parallel.")
class WorkflowStage:
    name: str = strawberry.field(description="The stage's name, unique in its workflow.")
    mode: WorkflowStageMode
    reducer: WorkflowStageReducer | None = strawberry.field(
        description="What merges a parallel stage's outputs into the next stage's input; null for a sequential stage."
    )
    _steps: strawberry.Private[tuple[StepSpec, ...]]

    @strawberry.field(description="The stage's steps, in order.")
    async def steps(
        self, first: graph.First = None, after: graph.After = None, last: graph.Last = None, before: graph.Before = None
    ) -> graph.Connection[WorkflowStep]:
        return await graph.paginate(
            _in_memory(self._steps), WorkflowStep.from_spec, first=first, after=after, last=last, before=before
        )

    @classmethod
    def from_spec(cls, stage: StageSpec) -> WorkflowStage:
        return cls(
            name=stage.name,
            mode=WorkflowStageMode(stage.mode),
            reducer=WorkflowStageReducer(stage.merged_by) if stage.merged_by else None,
            _steps=stage.steps,
        )


@strawberry.input(description="Which workflows a listing keeps.")
class WorkflowFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Keeps the workflows whose key, name or description contain it (1-256 characters, any case).",
    )


@strawberry.input(description="Which workflow runs a listing keeps; every condition given must hold.")
class WorkflowRunFilter:
    workflow_key: str | None = strawberry.field(default=None, description="Runs of the workflow with this key.")
    status: WorkflowRunStatus | None = strawberry.field(default=None, description="Runs in this status.")
    started_before: datetime | None = strawberry.field(default=None, description="Runs started at or before it.")
    started_after: datetime | None = strawberry.field(default=None, description="Runs started at or after it.")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Runs in the conversation with this global id."
    )


CatalogFilterArg = Annotated[
    WorkflowFilter | None, strawberry.argument(description="Keeps only the workflows that match it.")
]
RunsFilterArg = Annotated[
    WorkflowRunFilter | None, strawberry.argument(description="Keeps only the runs that match all it says.")
]


CONVERSATION_TYPE = "Conversation"  # the conversation node's type name (its global ids name it)


def _conversation_uuid(value: strawberry.ID | None, field: list[str]) -> uuid.UUID | None:
    """The conversation a global id names (its type is the chat domain's `Conversation`)."""
    if value is None:
        return None
    key = graph.node_uuid(value, CONVERSATION_TYPE)
    if key is None:
        raise InvalidInput(
            "conversationId is not a conversation's id.",
            details=[{"loc": field, "msg": "not a conversation's id", "type": "invalid_id"}],
        )
    return key


def _run_filter(wanted: WorkflowRunFilter | None, path: str) -> rw.RunFilter:
    if wanted is None:
        return rw.RunFilter()
    return rw.RunFilter(
        workflow_key=wanted.workflow_key,
        status=wanted.status.value if wanted.status is not None else None,
        started_before=wanted.started_before,
        started_after=wanted.started_after,
        conversation_id=_conversation_uuid(wanted.conversation_id, [path, "conversationId"]),
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value is not None else None
    except ValueError:
        return None


async def _workflows_by_key(keys: list[str]) -> list[WorkflowSpec | None]:
    return rw.workflows_by_keys(keys)


def _runs_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[models.WorkflowRun | None]:
        found = await rw.runs_by_ids(info.context, ids)
        return [found.get(i) for i in ids]

    return graph.loader(info, "workflows.run", batch)


def _steps_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[list[models.WorkflowRunStep]]:
        found = await rw.steps_by_run(info.context, ids)
        return [found[i] for i in ids]

    return graph.loader(info, "workflows.run_steps", batch)


def _run_pages_loader(info: strawberry.Info) -> Any:
    """The same page of several workflows' runs under one filter: keyed by (workflow key, filter,
    offset, limit); a batch groups its keys by (filter, offset, limit), one domain read each."""

    async def batch(keys: list[tuple[str, rw.RunFilter, int, int]]) -> list[Page[models.WorkflowRun]]:
        groups: dict[tuple[rw.RunFilter, int, int], list[str]] = {}
        for key, wanted, offset, limit in keys:
            groups.setdefault((wanted, offset, limit), []).append(key)
        pages: dict[tuple[str, rw.RunFilter, int, int], Page[models.WorkflowRun]] = {}
        for (wanted, offset, limit), workflow_keys in groups.items():
            found = await rw.run_pages_by_workflow(info.context, workflow_keys, wanted, offset, limit)
            for key, page in found.items():
                pages[(key, wanted, offset, limit)] = page
        return [pages[k] for k in keys]

    return graph.loader(info, "workflows.run_pages", batch)


@strawberry.type(description="A workflow of the catalog: stages of agent steps that run on one request.")
class Workflow(graph.Node):
    key: relay.NodeID[str]
    database_id: str = strawberry.field(description="The workflow's key (`analysis_code`).")
    display_name: str = strawberry.field(description="The workflow's name, for people.")
    description: str = strawberry.field(description="What the workflow does.")
    is_default: bool = strawberry.field(description="Whether this is the workflow clients offer first.")
    allows_handoff_agents: bool = strawberry.field(description="Whether its agents may hand off to others.")
    step_count: int = strawberry.field(description="How many steps its stages have in all.")
    output_schema: JSON | None = strawberry.field(description="The JSON Schema of its final output, if any.")
    _stages: strawberry.Private[tuple[StageSpec, ...]]

    @strawberry.field(description="The stages, in the order they run.")
    async def stages(
        self, first: graph.First = None, after: graph.After = None, last: graph.Last = None, before: graph.Before = None
    ) -> graph.Connection[WorkflowStage]:
        return await graph.paginate(
            _in_memory(self._stages), WorkflowStage.from_spec, first=first, after=after, last=last, before=before
        )

    @strawberry.field(extensions=READ, description="This tenant's runs of the workflow, newest first.")
    async def runs(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: RunsFilterArg = None,
    ) -> graph.Connection[WorkflowRun]:
        wanted = _run_filter(filter, "filter")
        loads = _run_pages_loader(info)

        async def fetch(offset: int, limit: int) -> Page[models.WorkflowRun]:
            page: Page[models.WorkflowRun] = await loads.load((self.key, wanted, offset, limit))
            return page

        return await graph.paginate(fetch, WorkflowRun.from_row, first=first, after=after, last=last, before=before)

    @classmethod
    def from_spec(cls, spec: WorkflowSpec) -> Workflow:
        return cls(
            key=spec.key,
            database_id=spec.key,
            display_name=spec.display_name,
            description=spec.description,
            is_default=spec.default,
            allows_handoff_agents=spec.allow_handoff_agents,
            step_count=spec.step_count,
            output_schema=JSON(spec.output_schema) if spec.output_schema is not None else None,
            _stages=spec.stages,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Workflow | None]:
        await _may_read(info)
        return [Workflow.from_spec(s) if s else None for s in rw.workflows_by_keys(list(node_ids))]


@strawberry.type(description="A recorded step of a workflow run: the agent's answer.")
class WorkflowRunStep:
    position: int = strawberry.field(description="The step's place in the run (1 first), in the order it ran.")
    name: str = strawberry.field(description="The step's name in the workflow.")
    stage_name: str = strawberry.field(description="The stage it ran in.")
    agent_key: str = strawberry.field(description="The key of the agent that ran it.")
    parallel_group: str | None = strawberry.field(description="The parallel stage it ran in, if any.")
    branch_index: int | None = strawberry.field(description="Its branch in that parallel stage (0 first).")
    status: WorkflowRunStepStatus = strawberry.field(description="How the step ended.")
    response_text: str | None = strawberry.field(description="The agent's answer.")
    structured_output: JSON | None = strawberry.field(description="The agent's structured answer, when it gave one.")
    response_id: str | None = strawberry.field(description="The model provider's id of the response.")
    input_tokens: int = strawberry.field(description="Model input tokens the step used.")
    output_tokens: int = strawberry.field(description="Model output tokens the step used.")
    created_at: datetime = strawberry.field(description="When the step was recorded (it had ended).")

    @classmethod
    def from_row(cls, row: models.WorkflowRunStep) -> WorkflowRunStep:
        return cls(
            position=row.sequence_no,
            name=row.step_name,
            stage_name=row.stage_name,
            agent_key=row.agent_key,
            parallel_group=row.parallel_group,
            branch_index=row.branch_index,
            status=WorkflowRunStepStatus(row.status),
            response_text=row.response_text,
            structured_output=JSON(row.structured_output) if row.structured_output is not None else None,
            response_id=row.response_id,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            created_at=row.created_at,
        )


@strawberry.type(description="A run of a workflow in this tenant.")
class WorkflowRun(graph.Node):
    run_id: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The run's id in the REST API (`workflow_run_id`).")
    workflow_key: str = strawberry.field(description="The key of the workflow it runs (kept if that is retired).")
    status: WorkflowRunStatus = strawberry.field(description="Running, or how the run ended.")
    request_message: str | None = strawberry.field(description="The request the run was started with.")
    final_output_text: str | None = strawberry.field(description="The last stage's output, once it succeeded.")
    final_output_structured: JSON | None = strawberry.field(
        description="The final output as structured data, when the run produced one (free-form)."
    )
    error: str | None = strawberry.field(description="Why a failed run failed.")
    input_tokens: int = strawberry.field(description="Model input tokens the run's steps used.")
    output_tokens: int = strawberry.field(description="Model output tokens the run's steps used.")
    started_at: datetime = strawberry.field(description="When the run was started.")
    ended_at: datetime | None = strawberry.field(description="When the run ended; null while it runs.")
    conversation_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The conversation the run records its turns in; null once that is deleted.")
    async def conversation(self, info: strawberry.Info) -> Conversation | None:
        return await load_conversation(info, self.conversation_id)

    @strawberry.field(description="The workflow it runs; null if that workflow has left the catalog.")
    async def workflow(self, info: strawberry.Info) -> Workflow | None:
        spec = await graph.loader(info, "workflows.workflow", _workflows_by_key).load(self.workflow_key)
        return Workflow.from_spec(spec) if spec is not None else None

    @strawberry.field(description="The steps recorded so far, in the order they ran.")
    async def steps(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
    ) -> graph.Connection[WorkflowRunStep]:
        rows: list[models.WorkflowRunStep] = await _steps_loader(info).load(self.database_id)
        return await graph.paginate(
            _in_memory(rows), WorkflowRunStep.from_row, first=first, after=after, last=last, before=before
        )

    @classmethod
    def from_row(cls, run: models.WorkflowRun) -> WorkflowRun:
        return cls(
            run_id=str(run.id),
            database_id=run.id,
            workflow_key=run.workflow_key,
            status=WorkflowRunStatus(run.status),
            request_message=run.request_message,
            final_output_text=run.final_output_text,
            final_output_structured=(
                JSON(run.final_output_structured) if run.final_output_structured is not None else None
            ),
            error=run.error,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            started_at=run.started_at,
            ended_at=run.ended_at,
            conversation_id=run.conversation_id,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[WorkflowRun | None]:
        await _may_read(info)
        loads = _runs_loader(info)

        async def one(node_id: str) -> WorkflowRun | None:
            run_id = _uuid(node_id)
            row = await loads.load(run_id) if run_id is not None else None
            return WorkflowRun.from_row(row) if row is not None else None

        return list(await asyncio.gather(*(one(i) for i in node_ids)))


async def _run(info: strawberry.Info, run_id: uuid.UUID) -> WorkflowRun:
    row = await _runs_loader(info).load(run_id)
    if row is None:  # it was just created or changed in this tenant: only a concurrent delete
        raise NotFound("Workflow run not found")
    return WorkflowRun.from_row(row)


def _run_uuid(value: strawberry.ID, field: list[str]) -> uuid.UUID:
    """The run a global id names; NOT_FOUND (at `field`) for any other id."""
    found = _uuid(graph.node_key(value, "WorkflowRun"))
    if found is None:
        raise NotFound("Workflow run not found", details=[{"loc": field, "msg": "no such workflow run"}])
    return found


# -- mutations ------------------------------------------------------------------------------------


@strawberry.input(description="What to run: a workflow and the request it runs on.")
class RunWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The global id of the workflow to run.")
    message: str = strawberry.field(description=f"The request (1-{MAX_MESSAGE_CHARS} characters).")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Continue this conversation (its global id); null: a new conversation."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, "
        "per caller and operation; a retry with the same key and input gets the first request's run.",
        metadata=limited(ri.KEY),
    )


@strawberry.input(description="What to start: a workflow and the request it runs on.")
class StartWorkflowRunInput(RunWorkflowInput):
    pass


@strawberry.input(description="The run to cancel.")
class CancelWorkflowRunInput:
    id: strawberry.ID = strawberry.field(description="The run's global id.")


def _start_request(input: RunWorkflowInput) -> tuple[str, rw.WorkflowRequest, ri.Idempotency]:
    """The workflow key, the domain's request and the idempotency key of a run's input."""
    key = graph.node_key(input.workflow_id, "Workflow")
    if key is None or rw.workflows_by_keys([key])[0] is None:
        raise NotFound("Workflow not found", details=[{"loc": ["input", "workflowId"], "msg": "no such workflow"}])
    conversation = _conversation_uuid(input.conversation_id, ["input", "conversationId"])
    request = rw.WorkflowRequest(input.message, str(conversation) if conversation else None)
    inputs = {"workflow_key": key, "message": input.message, "conversation_id": request.conversation_id}
    return key, request, ri.Idempotency(input.idempotency_key, inputs, field="input.idempotencyKey")


@strawberry.input(description="The finished run to delete.")
class DeleteWorkflowRunInput:
    id: strawberry.ID = strawberry.field(description="The run's global id.")
    reason: str | None = strawberry.field(
        default=None, description="Why (logged with the deletion).", metadata=limited(rw.DELETE_REASON)
    )


@strawberry.type(description="The result of `deleteWorkflowRun`.")
class DeleteWorkflowRunPayload:
    deleted_workflow_run_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global id of the deleted run."
    )
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `runWorkflow`.")
class RunWorkflowPayload:
    run: WorkflowRun | None = strawberry.field(default=None, description="The run, finished.")
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `startWorkflowRun`.")
class StartWorkflowRunPayload:
    run: WorkflowRun | None = strawberry.field(
        default=None, description="The run, running: follow it with `workflowRunEvents`."
    )
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `cancelWorkflowRun`.")
class CancelWorkflowRunPayload:
    run: WorkflowRun | None = strawberry.field(default=None, description="The run, cancelled.")
    user_errors: list[graph.UserError]


@strawberry.type
class Query:
    @strawberry.field(extensions=READ, description="The workflow catalog, by key.")
    async def workflows(
        self,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: CatalogFilterArg = None,
    ) -> graph.Connection[Workflow]:
        search = filter.search if filter is not None else None

        async def fetch(offset: int, limit: int) -> Page[WorkflowSpec]:
            return rw.workflow_page(offset, limit, search, field="filter.search")

        return await graph.paginate(fetch, Workflow.from_spec, first=first, after=after, last=last, before=before)

    @strawberry.field(extensions=READ, description="The workflow with this key; null (NOT_FOUND) if none has it.")
    def workflow(self, key: str) -> Workflow | None:
        return Workflow.from_spec(rw.get_workflow(key))

    @strawberry.field(extensions=READ, description="This tenant's workflow runs, newest first.")
    async def workflow_runs(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: RunsFilterArg = None,
    ) -> graph.Connection[WorkflowRun]:
        wanted = _run_filter(filter, "filter")

        async def fetch(offset: int, limit: int) -> Page[models.WorkflowRun]:
            return await rw.run_page(info.context, wanted, offset, limit)

        return await graph.paginate(fetch, WorkflowRun.from_row, first=first, after=after, last=last, before=before)

    @strawberry.field(extensions=READ, description="The run with this global id; null (NOT_FOUND) if none has it.")
    async def workflow_run(self, info: strawberry.Info, id: strawberry.ID) -> WorkflowRun | None:
        return await _run(info, _run_uuid(id, ["id"]))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Run a workflow and answer when it has finished.")
    async def run_workflow(self, info: strawberry.Info, input: RunWorkflowInput) -> RunWorkflowPayload:
        async def act() -> dict[str, Any]:
            key, request, idem = _start_request(input)
            result = await rw.run_workflow(info.context, key, request, idem)
            return {"run": await _run(info, uuid.UUID(result.workflow_run_id))}

        return await graph.payload(RunWorkflowPayload, act())

    @strawberry.mutation(
        extensions=WRITE, description="Start a workflow run; follow it with `workflowRunEvents`, or cancel it."
    )
    async def start_workflow_run(self, info: strawberry.Info, input: StartWorkflowRunInput) -> StartWorkflowRunPayload:
        async def act() -> dict[str, Any]:
            key, request, idem = _start_request(input)
            started = await rw.start_workflow_run(info.context, key, request, idem)
            return {"run": await _run(info, started.run_id)}

        return await graph.payload(StartWorkflowRunPayload, act())

    @strawberry.mutation(extensions=WRITE, description="Cancel a running run: its in-flight model call is stopped.")
    async def cancel_workflow_run(
        self, info: strawberry.Info, input: CancelWorkflowRunInput
    ) -> CancelWorkflowRunPayload:
        async def act() -> dict[str, Any]:
            run_id = _run_uuid(input.id, ["input", "id"])
            await rw.cancel_run(info.context, str(run_id))
            return {"run": await _run(info, run_id)}

        return await graph.payload(CancelWorkflowRunPayload, act())

    @strawberry.mutation(
        extensions=DELETE,
        description="Delete a finished run with its steps and its items in the conversation's ledger (the "
        "conversation stays). A running run is a CONFLICT user error: cancel it first.",
    )
    async def delete_workflow_run(
        self, info: strawberry.Info, input: DeleteWorkflowRunInput
    ) -> DeleteWorkflowRunPayload:
        async def act() -> dict[str, Any]:
            run_id = _run_uuid(input.id, ["input", "id"])
            try:
                await rw.delete_run(info.context, str(run_id), input.reason)
            except (NotFound, Conflict) as error:
                error.details = error.details or [{"loc": ["input", "id"], "msg": error.message}]
                raise
            return {"deleted_workflow_run_id": input.id}

        return await graph.payload(DeleteWorkflowRunPayload, act())


@strawberry.type
class Subscription:
    @strawberry.subscription(
        extensions=WRITE, description="Run a workflow and stream its events, up to its one terminal event."
    )
    async def workflow_run_stream(
        self, info: strawberry.Info, input: RunWorkflowInput
    ) -> AsyncGenerator[StreamEvent, None]:
        key, request, idem = _start_request(input)
        async for event in rw.run_workflow_stream(info.context, key, request, idem):
            yield to_event(event)

    @strawberry.subscription(
        extensions=READ,
        description="A run's events after `afterEventId`, up to its terminal event (join a run, or resume).",
    )
    async def workflow_run_events(
        self, info: strawberry.Info, workflow_run_id: strawberry.ID, after_event_id: int = 0
    ) -> AsyncGenerator[StreamEvent, None]:
        run_id = _run_uuid(workflow_run_id, ["workflowRunId"])
        async for event in rw.run_events(info.context, str(run_id), after_event_id):
            yield to_event(event)
