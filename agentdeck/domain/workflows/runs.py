"""Workflows: the catalog, starting runs, history and cancel (the engine is `workflow_runner`).

`run` and `run-stream` both start a run as a server task and read its replayable stream; a run's
history (`workflow_runs`, `workflow_run_steps`) is written as it happens. Each way of starting a
run takes an idempotency key (`domain/common/idempotency.py`): a retry gets the run its first request
started, never a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from agentdeck.context import Context
from agentdeck.db.models import ConversationEvent, WorkflowRun, WorkflowRunStep
from agentdeck.domain import activity
from agentdeck.domain.agents.runs import follow, terminal_recorder
from agentdeck.domain.agents.runtime import record_run_item
from agentdeck.domain.agents.streams import StreamWriter, new_stream_id, workflow_context
from agentdeck.domain.billing.usage import METERED_FEATURE, reserve_usage
from agentdeck.domain.catalog import WORKFLOWS, WorkflowSpec
from agentdeck.domain.chat.turns import (
    MAX_MESSAGE_CHARS,
    caller_user_id,
    open_conversation,
    parse_conversation_id,
)
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor, identifier, key, timestamp
from agentdeck.domain.common.results import Page
from agentdeck.domain.workflows.runner import Runner
from agentdeck.errors import Conflict, InvalidInput, NotFound, UpstreamFailed

RUN_STATUSES = ("running", "succeeded", "failed", "cancelled")
STEP_STATUSES = ("completed", "failed", "incomplete", "skipped")


# -- catalog --------------------------------------------------------------------------------------


@dataclass
class WorkflowPage:
    items: list[WorkflowSpec]
    next_cursor: str | None
    total: int


def _matching(search: str | None, field: str = "search") -> list[WorkflowSpec]:
    """The catalog by key; with `search`, the workflows whose key, name or description has it
    (trimmed, case-insensitive)."""
    specs = sorted(WORKFLOWS.values(), key=lambda s: s.key)
    if search is not None:
        needle = search.strip().lower()
        if not needle or len(search) > 256:
            raise InvalidInput(
                "search must be 1-256 characters.", details=[{"field": field, "message": "1-256 characters"}]
            )
        specs = [
            s
            for s in specs
            if needle in s.key.lower() or needle in s.display_name.lower() or needle in s.description.lower()
        ]
    return specs


def list_workflows(first: int, after: str | None, search: str | None) -> WorkflowPage:
    specs = _matching(search)
    total = len(specs)
    cursor = decode_cursor(after, {"workflow": key})
    if cursor is not None:
        specs = [s for s in specs if s.key > cursor["workflow"]]
    page = specs[:first]
    more = len(specs) > first
    return WorkflowPage(page, encode_cursor({"workflow": page[-1].key}) if more and page else None, total)


def get_workflow(key: str) -> WorkflowSpec:
    spec = WORKFLOWS.get(key)
    if spec is None:
        raise NotFound(f"Workflow '{key}' not found")
    return spec


def workflow_page(offset: int, limit: int, search: str | None = None, field: str = "search") -> Page[WorkflowSpec]:
    """The catalog (by key, optionally searched) read by offset and limit; `field` names the
    search argument in an error."""
    specs = _matching(search, field)
    return Page(specs[offset : offset + limit], len(specs))


def workflows_by_keys(keys: list[str]) -> list[WorkflowSpec | None]:
    """The workflows with these keys, in order; None for a key the catalog does not have."""
    return [WORKFLOWS.get(key) for key in keys]


# -- results --------------------------------------------------------------------------------------

# A run's result is what `run_workflow` returns and what a retry of it replays: it is stored as
# JSON with the idempotency key, so these fields are the stored shape (add, never rename).


@dataclass
class StepResult:
    name: str
    agent_key: str
    response_text: str | None
    structured_output: Any = None
    response_id: str | None = None
    stage_name: str | None = None
    parallel_group: str | None = None
    branch_index: int | None = None


@dataclass
class RunResult:
    workflow_key: str
    workflow_run_id: str
    conversation_id: str
    steps: list[StepResult]
    final_output: Any
    output_schema: dict[str, Any] | None = None


@dataclass
class RunPage:
    """Runs, newest first, with how many steps each has recorded."""

    runs: list[WorkflowRun]
    step_counts: dict[uuid.UUID, int]
    next_cursor: str | None


@dataclass
class RunRecord:
    """A run as recorded: its row, its steps in order, and its workflow (None if no longer in
    the catalog)."""

    run: WorkflowRun
    steps: list[StepResult]
    spec: WorkflowSpec | None


@dataclass
class WorkflowRequest:
    message: str
    conversation_id: str | None = None


@dataclass
class StartedRun:
    run_id: uuid.UUID
    stream_id: str
    conversation_id: uuid.UUID
    spec: WorkflowSpec


def _step_result(row: WorkflowRunStep) -> StepResult:
    return StepResult(
        row.step_name,
        row.agent_key,
        row.response_text,
        row.structured_output,
        row.response_id,
        row.stage_name,
        row.parallel_group,
        row.branch_index,
    )


def _run_uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Workflow run not found") from None


# -- running --------------------------------------------------------------------------------------


async def start_workflow_run(
    ctx: Context, key: str, req: WorkflowRequest, idem: idempotency.Idempotency = idempotency.NO_KEY
) -> StartedRun:
    async with idempotency.claim(ctx, "start_workflow_run", idem) as claim:
        return await start_run(ctx, key, req, claim)


async def start_run(ctx: Context, key: str, req: WorkflowRequest, claim: idempotency.Claim | None = None) -> StartedRun:
    """Start a run; with a `claim` that is a retry, the run its first request started."""
    await require_role(ctx, "viewer")
    spec = get_workflow(key)
    if claim is not None and claim.resource is not None:
        r = claim.resource  # the workflow key is among the fingerprinted inputs: it is `spec`'s
        return StartedRun(uuid.UUID(r["run_id"]), r["stream_id"], uuid.UUID(r["conversation_id"]), spec)
    text = req.message.strip()
    if not text or len(req.message) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"message must be 1-{MAX_MESSAGE_CHARS} characters.",
            details=[{"field": "input.message", "message": f"1-{MAX_MESSAGE_CHARS} characters"}],
        )
    wanted = parse_conversation_id(req.conversation_id)
    user_id = caller_user_id(ctx)
    now = datetime.now(UTC)
    first_agent = spec.stages[0].steps[0].agent_key
    async with ctx.session() as s:
        # Held by the running row until the run meters the steps it ran; over the hard limit: 429.
        await reserve_usage(ctx, s, METERED_FEATURE, spec.step_count, record=False)
        conversation_id = (await open_conversation(s, wanted, first_agent, text, user_id, now))[0].id
        run = WorkflowRun(
            id=uuid.uuid4(),
            workflow_key=spec.key,
            user_id=user_id,
            conversation_id=conversation_id,
            stream_id=new_stream_id("workflow"),
            status="running",
            request_message=text,
            started_at=now,
            heartbeat_at=now,
        )
        s.add(run)
        activity.record(
            ctx,
            s,
            "workflow.run.started",
            object_type="workflow_run",
            object_id=run.id,
            object_name=spec.key,
            status="pending",
            metadata={"workflow_key": spec.key, "run_id": str(run.id)},
        )
        if claim is not None:
            await claim.attach(
                s, {"run_id": str(run.id), "stream_id": run.stream_id, "conversation_id": str(conversation_id)}
            )
        await s.commit()
    await record_run_item(
        ctx,
        conversation_id,
        run_item_type="message",
        run_item_name="user_input",
        role="user",
        agent=first_agent,
        content_text=text,
        workflow_run_id=str(run.id),
    )
    writer = StreamWriter(
        ctx.bus,
        run.stream_id,
        str(conversation_id),
        workflow_context(spec, run.id),
        on_terminal=terminal_recorder(ctx.services, WorkflowRun, run.id),
    )
    runner = Runner(ctx.detached(), writer, spec, run.id, conversation_id, text)
    ctx.services.runs.launch_run(run.id, runner, runner.run())
    return StartedRun(run.id, run.stream_id, conversation_id, spec)


async def run_workflow(
    ctx: Context, key: str, req: WorkflowRequest, idem: idempotency.Idempotency = idempotency.NO_KEY
) -> RunResult:
    """Start a run and answer when it has finished. A retry gets the stored answer of its key's
    run, or waits for that run if it is still going."""
    async with idempotency.claim(ctx, "run_workflow", idem) as claim:
        if claim.response is not None:
            return claim.replay(RunResult)
        started = await start_run(ctx, key, req, claim)
    terminal = None
    async for event in follow(ctx, WorkflowRun, started.stream_id):
        terminal = event
    if terminal is None or terminal["kind"] == "error":
        message = terminal["error"]["message"] if terminal else "The workflow did not finish."
        failure = UpstreamFailed(f"Error running workflow: {message}")
        if terminal is not None:  # the run ended so: that is its outcome for every retry
            await claim.remember_error(ctx, failure)
        raise failure
    record = await get_run(ctx, str(started.run_id))
    result = RunResult(
        started.spec.key,
        str(record.run.id),
        str(started.conversation_id),
        record.steps,
        record.run.final_output_text,
        started.spec.output_schema,
    )
    await claim.remember(ctx, result)
    return result


async def run_workflow_stream(
    ctx: Context, key: str, req: WorkflowRequest, idem: idempotency.Idempotency = idempotency.NO_KEY
) -> AsyncIterator[dict[str, Any]]:
    async with idempotency.claim(ctx, "run_workflow_stream", idem) as claim:
        started = await start_run(ctx, key, req, claim)  # a retry joins the first request's run
    async for event in follow(ctx, WorkflowRun, started.stream_id):
        yield event


# -- history and cancel ---------------------------------------------------------------------------


def _parse_ts(raw: str | None, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value.astimezone(UTC)  # OverflowError for a moment before year 1 or after 9999 in UTC
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} must be an ISO timestamp.",
            details=[{"field": name, "message": "Input should be an ISO timestamp"}],
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def list_runs(
    ctx: Context,
    first: int = 20,
    after: str | None = None,
    workflow_key: str | None = None,
    run_status: str | None = None,
    started_before: str | None = None,
    started_after: str | None = None,
    conversation_id: str | None = None,
) -> RunPage:
    await require_role(ctx, "viewer")
    if run_status is not None and run_status not in RUN_STATUSES:
        raise InvalidInput(
            "run_status must be one of running, succeeded, failed, cancelled.",
            details=[{"field": "run_status", "message": "Input should be a workflow run status"}],
        )
    query = select(WorkflowRun)
    if workflow_key:
        query = query.where(WorkflowRun.workflow_key == workflow_key)
    if run_status:
        query = query.where(WorkflowRun.status == run_status)
    if (before := _parse_ts(started_before, "started_before")) is not None:
        query = query.where(WorkflowRun.started_at <= before)
    if (since := _parse_ts(started_after, "started_after")) is not None:
        query = query.where(WorkflowRun.started_at >= since)
    if conversation_id:
        query = query.where(WorkflowRun.conversation_id == parse_conversation_id(conversation_id))
    cursor = decode_cursor(after, {"ts": timestamp, "id": identifier})
    if cursor is not None:
        ts, rid = cursor["ts"], cursor["id"]
        query = query.where(or_(WorkflowRun.started_at < ts, and_(WorkflowRun.started_at == ts, WorkflowRun.id < rid)))
    query = query.order_by(WorkflowRun.started_at.desc(), WorkflowRun.id.desc()).limit(first + 1)
    async with ctx.session() as s:
        rows = (await s.scalars(query)).all()
        counts: dict[uuid.UUID, int] = {}
        if rows:
            for run_id in (
                await s.scalars(
                    select(WorkflowRunStep.run_id).where(WorkflowRunStep.run_id.in_([r.id for r in rows[:first]]))
                )
            ).all():
                counts[run_id] = counts.get(run_id, 0) + 1
    page = list(rows[:first])
    more = len(rows) > first
    last = page[-1] if page else None
    next_cursor = encode_cursor({"ts": last.started_at.isoformat(), "id": str(last.id)}) if more and last else None
    return RunPage(page, counts, next_cursor)


async def get_run(ctx: Context, run_id: str) -> RunRecord:
    await require_role(ctx, "viewer")
    rid = _run_uuid(run_id)
    async with ctx.session() as s:
        run = await s.get(WorkflowRun, rid)
        if run is None:
            raise NotFound("Workflow run not found")
        steps = (
            await s.scalars(
                select(WorkflowRunStep).where(WorkflowRunStep.run_id == rid).order_by(WorkflowRunStep.sequence_no)
            )
        ).all()
    return RunRecord(run, [_step_result(r) for r in steps], WORKFLOWS.get(run.workflow_key))


@dataclass(frozen=True)
class RunFilter:
    """Which runs a listing keeps; every condition given must hold."""

    workflow_key: str | None = None
    status: str | None = None
    started_before: datetime | None = None  # inclusive
    started_after: datetime | None = None  # inclusive
    conversation_id: uuid.UUID | None = None


_NEWEST_FIRST = (WorkflowRun.started_at.desc(), WorkflowRun.id.desc())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _conditions(wanted: RunFilter) -> list[Any]:
    if wanted.status is not None and wanted.status not in RUN_STATUSES:
        raise InvalidInput(
            "status must be one of running, succeeded, failed, cancelled.",
            details=[{"field": "status", "message": "Input should be a workflow run status"}],
        )
    out: list[Any] = []
    if wanted.workflow_key is not None:
        out.append(WorkflowRun.workflow_key == wanted.workflow_key)
    if wanted.status is not None:
        out.append(WorkflowRun.status == wanted.status)
    if wanted.started_before is not None:
        out.append(WorkflowRun.started_at <= _aware(wanted.started_before))
    if wanted.started_after is not None:
        out.append(WorkflowRun.started_at >= _aware(wanted.started_after))
    if wanted.conversation_id is not None:
        out.append(WorkflowRun.conversation_id == wanted.conversation_id)
    return out


async def run_page(ctx: Context, wanted: RunFilter, offset: int, limit: int) -> Page[WorkflowRun]:
    """This tenant's runs that `wanted` keeps, newest first, read by offset and limit."""
    await require_role(ctx, "viewer")
    where = _conditions(wanted)
    async with ctx.session() as s:
        total = await s.scalar(select(func.count()).select_from(WorkflowRun).where(*where)) or 0
        rows = (
            await s.scalars(select(WorkflowRun).where(*where).order_by(*_NEWEST_FIRST).offset(offset).limit(limit))
        ).all()
    return Page(list(rows), total)


async def run_pages_by_workflow(
    ctx: Context, keys: list[str], wanted: RunFilter, offset: int, limit: int
) -> dict[str, Page[WorkflowRun]]:
    """The same page (newest first) of each workflow's runs that `wanted` keeps, for several
    workflows in two statements, however many there are."""
    await require_role(ctx, "viewer")
    where = [WorkflowRun.workflow_key.in_(keys), *_conditions(wanted)]
    place = func.row_number().over(partition_by=WorkflowRun.workflow_key, order_by=_NEWEST_FIRST).label("place")
    ranked = select(WorkflowRun.id, place).where(*where).subquery()
    async with ctx.session() as s:
        totals = dict(
            (
                await s.execute(
                    select(WorkflowRun.workflow_key, func.count()).where(*where).group_by(WorkflowRun.workflow_key)
                )
            )
            .tuples()
            .all()
        )
        rows = (
            await s.scalars(
                select(WorkflowRun)
                .join(ranked, ranked.c.id == WorkflowRun.id)
                .where(ranked.c.place > offset, ranked.c.place <= offset + limit)
                .order_by(WorkflowRun.workflow_key, ranked.c.place)
            )
        ).all()
    found: dict[str, list[WorkflowRun]] = {key: [] for key in keys}
    for row in rows:
        found[row.workflow_key].append(row)
    return {key: Page(found[key], totals.get(key, 0)) for key in keys}


async def runs_by_ids(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, WorkflowRun]:
    """This tenant's runs among `ids` (another tenant's or a missing id is absent)."""
    await require_role(ctx, "viewer")
    if not ids:
        return {}
    async with ctx.session() as s:
        rows = (await s.scalars(select(WorkflowRun).where(WorkflowRun.id.in_(ids)))).all()
    return {row.id: row for row in rows}


async def steps_by_run(ctx: Context, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[WorkflowRunStep]]:
    """The recorded steps of each run, in the order they were run, in one statement."""
    await require_role(ctx, "viewer")
    found: dict[uuid.UUID, list[WorkflowRunStep]] = {rid: [] for rid in run_ids}
    if not run_ids:
        return found
    async with ctx.session() as s:
        rows = (
            await s.scalars(
                select(WorkflowRunStep)
                .where(WorkflowRunStep.run_id.in_(run_ids))
                .order_by(WorkflowRunStep.run_id, WorkflowRunStep.sequence_no)
            )
        ).all()
    for row in rows:
        found[row.run_id].append(row)
    return found


async def run_events(ctx: Context, run_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
    """A run's stream events from `after` + 1 to its terminal event (a reader resuming, or joining)."""
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        stream_id = await s.scalar(select(WorkflowRun.stream_id).where(WorkflowRun.id == _run_uuid(run_id)))
    if stream_id is None:
        raise NotFound("Workflow run not found")
    async for event in follow(ctx, WorkflowRun, stream_id, after):
        yield event


async def cancel_run(ctx: Context, run_id: str) -> uuid.UUID:
    """Cancel a running run (its in-flight model call is stopped); the run's id."""
    await require_role(ctx, "viewer")
    rid = _run_uuid(run_id)
    async with ctx.session() as s:
        run = await s.get(WorkflowRun, rid)
        if run is None:
            raise NotFound("Workflow run not found")
        cancelled = await s.scalar(
            update(WorkflowRun)
            .where(WorkflowRun.id == rid, WorkflowRun.status == "running")
            .values(status="cancelled", ended_at=datetime.now(UTC))
            .returning(WorkflowRun.id)
        )
        if cancelled is not None:
            activity.record(
                ctx,
                s,
                "workflow.run.cancelled",
                object_type="workflow_run",
                object_id=rid,
                object_name=run.workflow_key,
                metadata={"workflow_key": run.workflow_key, "run_id": str(rid), "status": "cancelled"},
            )
        await s.commit()
    if cancelled is None:
        raise Conflict("Workflow run is not active")
    await ctx.services.runs.request_cancel(rid)
    return rid


DELETE_REASON = Limit(max_length=512)
log = logging.getLogger("agentdeck.workflows")


async def delete_run(ctx: Context, run_id: str, reason: str | None = None) -> uuid.UUID:
    """Delete a finished run with its steps and its items in the conversation's ledger (the
    conversation and its messages stay); the run's id. A running run is refused (409: cancel it
    first). `reason` is logged with the deletion."""
    await require_role(ctx, "admin")
    rid = _run_uuid(run_id)
    async with ctx.session() as s:
        # One statement decides: a run that starts finishing meanwhile is either deleted or not.
        deleted = await s.scalar(
            delete(WorkflowRun).where(WorkflowRun.id == rid, WorkflowRun.status != "running").returning(WorkflowRun.id)
        )
        if deleted is None:
            if await s.scalar(select(WorkflowRun.id).where(WorkflowRun.id == rid)) is None:
                raise NotFound("Workflow run not found")
            raise Conflict("Workflow run is still running; cancel it before deleting it.")
        await s.execute(delete(WorkflowRunStep).where(WorkflowRunStep.run_id == rid))
        await s.execute(delete(ConversationEvent).where(ConversationEvent.workflow_run_id == str(rid)))
        await s.commit()
    log.info("workflow run %s deleted by %s (reason: %s)", rid, ctx.require_principal().subject, reason or "-")
    return rid
