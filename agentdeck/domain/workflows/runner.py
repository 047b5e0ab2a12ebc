"""Running workflow runs: the stage/step engine, cancellation, and recovery of orphaned runs.

A run executes as a server task (`Services.spawn`), so the caller that started it, any number of
stream readers and a `cancel` call can all be different requests, on different processes when
Redis carries the bus. Each step is one agent loop (`chat_runner.run_agent`) in a task of its own;
the branches of a parallel stage run concurrently, each writing to the run's stream through a
fork of its writer (shared numbering, its own `workflow` context). A step's own terminal is never
emitted: the stream has a single `final` (or `error`) for the run.

Cancellation, heartbeats and the recovery of orphaned runs are `runs.RunSupervisor`'s: runs are
failed, not resumed, when their process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from agentdeck.context import Context
from agentdeck.db.models import WorkflowRun, WorkflowRunStep
from agentdeck.domain import activity
from agentdeck.domain.agents.runtime import (
    add_assistant_message,
    final_payload,
    run_agent,
)
from agentdeck.domain.agents.streams import StreamWriter, workflow_context
from agentdeck.domain.billing.usage import METERED_FEATURE, meter
from agentdeck.domain.catalog import SPECS, WorkflowSpec, WorkflowStage, WorkflowStep
from agentdeck.domain.catalog.workflows import DEFAULT_REDUCER, GUARDS, MAPPERS, REDUCERS, StepInput
from agentdeck.providers.llm import Message, ModelError, Usage

log = logging.getLogger("agentdeck.workflows")


class _StepFailed(Exception):
    def __init__(self, message: str, agent: str, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message, self.agent, self.code, self.retryable = message, agent, code, retryable


class _Cancelled(Exception):
    pass


class Runner:
    """One run, from its first step to its terminal event."""

    def __init__(
        self,
        ctx: Context,
        writer: StreamWriter,
        spec: WorkflowSpec,
        run_id: uuid.UUID,
        conversation_id: uuid.UUID,
        message: str,
    ) -> None:
        self.ctx, self.writer, self.spec, self.message = ctx, writer, spec, message
        self.run_id, self.conversation_id = run_id, conversation_id
        self.usage_in = self.usage_out = self.requests = self.steps_run = 0
        self.agent: str | None = spec.stages[0].steps[0].agent_key
        self.cancel_requested = False
        self._next_seq = 0
        self._in_flight: set[asyncio.Task] = set()

    def cancel(self) -> None:
        """Stop now: the in-flight steps' tasks are cancelled, closing their model streams."""
        self.cancel_requested = True
        for task in self._in_flight:
            task.cancel()

    async def run(self) -> None:
        try:
            output = await self._stages()
        except _Cancelled:
            await self._cancelled()
        except _StepFailed as exc:
            self.agent = exc.agent
            await self._end("failed", None, exc.message)
            await self.writer.emit(
                "error",
                exc.agent,
                error={
                    "code": exc.code,
                    "message": exc.message,
                    "source": "server" if exc.code == "guardrail_tripwire" else "provider",
                    "is_retryable": exc.retryable,
                },
            )
        except asyncio.CancelledError:  # the server is shutting down
            reason = "interrupted: the server stopped during the run"
            await asyncio.shield(self._end("failed", None, reason))
            if not self.writer.closed:
                await asyncio.shield(
                    self.writer.emit(
                        "error",
                        self.agent,
                        error={"code": "interrupted", "message": reason, "source": "server", "is_retryable": True},
                    )
                )
            raise
        except Exception:
            log.exception("workflow run %s failed", self.run_id)
            await self._end("failed", None, "Internal error while running the workflow.")
            await self.writer.emit(
                "error",
                self.agent,
                error={
                    "code": None,
                    "message": "Internal error while running the workflow.",
                    "source": "server",
                    "is_retryable": False,
                },
            )
        else:
            if await self._end("succeeded", output, None):
                await self.writer.emit("lifecycle", self.agent, status="completed", reason=None)
                await self._final("completed" if output else "incomplete", output)
            else:  # cancelled while the last step finished
                await self._cancelled()
        finally:
            if self.steps_run:
                with contextlib.suppress(Exception):
                    await meter(self.ctx, METERED_FEATURE, self.steps_run)

    async def _cancelled(self) -> None:
        await self._end("cancelled", None, None)
        await self.writer.emit("lifecycle", self.agent, status="cancelled", reason="cancelled by request")
        await self._final("cancelled", None)

    async def _final(self, status: str, output: str | None) -> None:
        await self.writer.emit(
            "final",
            self.agent,
            final=final_payload(status, output, Usage(self.usage_in, self.usage_out), self.requests),
        )

    async def _stages(self) -> str:
        previous = self.message
        for stage in self.spec.stages:
            if stage.mode == "parallel":
                value = StepInput(self.message, previous)
                outputs = await self._steps(stage, [(step, value, branch) for branch, step in enumerate(stage.steps)])
                previous = REDUCERS[stage.reducer or DEFAULT_REDUCER]([o for o in outputs if o is not None])
            else:
                for step in stage.steps:
                    [out] = await self._steps(stage, [(step, StepInput(self.message, previous), None)])
                    if out is not None:
                        previous = out
        return previous

    async def _steps(
        self, stage: WorkflowStage, calls: list[tuple[WorkflowStep, StepInput, int | None]]
    ) -> list[str | None]:
        """Run steps concurrently, each in its own task; a failure cancels its siblings."""
        if self.cancel_requested:
            raise _Cancelled
        tasks: list[asyncio.Task | None] = []
        for step, value, branch in calls:
            if step.guard is not None and not GUARDS[step.guard](value):
                tasks.append(None)  # the guard skips the step
                continue
            self._next_seq += 1
            tasks.append(asyncio.create_task(self._step(stage, step, value, branch, self._next_seq)))
        running = [t for t in tasks if t is not None]
        self._in_flight.update(running)
        try:
            if running:
                await asyncio.wait(running, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            self._in_flight.difference_update(running)
            pending = [t for t in running if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self.cancel_requested:
            raise _Cancelled
        for task in running:
            if not task.cancelled() and (failure := task.exception()) is not None:
                raise failure
        return [t.result() if t is not None else None for t in tasks]

    async def _step(
        self, stage: WorkflowStage, step: WorkflowStep, value: StepInput, branch: int | None, seq: int
    ) -> str:
        text = MAPPERS[step.input_mapper](value) if step.input_mapper else value.previous
        agent = SPECS[step.agent_key]
        writer = self.writer.fork(workflow_context(self.spec, self.run_id, stage, step, branch))
        self.agent = agent.key
        await writer.emit("lifecycle", agent.key, status="in_progress", reason=None)
        try:
            result = await run_agent(
                self.ctx,
                writer,
                self.conversation_id,
                agent,
                [Message("user", text)],
                str(self.run_id),
                max_turns=step.max_turns,
            )
        except ModelError as exc:
            raise _StepFailed(
                f"step '{step.step_name}' failed: {exc.message}", agent.key, exc.code, exc.retryable
            ) from exc
        self.usage_in += result.usage.input_tokens
        self.usage_out += result.usage.output_tokens
        self.requests += result.requests
        self.steps_run += 1
        async with self.ctx.session() as s:
            s.add(
                WorkflowRunStep(
                    run_id=self.run_id,
                    sequence_no=seq,
                    stage_name=stage.name,
                    step_name=step.step_name,
                    agent_key=step.agent_key,
                    parallel_group=stage.name if stage.mode == "parallel" else None,
                    branch_index=branch,
                    status="failed" if result.status == "refused" else result.status,
                    response_text=result.response_text or None,
                    response_id=writer.response_id,
                    input_tokens=result.usage.input_tokens,
                    output_tokens=result.usage.output_tokens,
                    created_at=datetime.now(UTC),
                )
            )
            await s.commit()
        if result.status != "completed":
            raise _StepFailed(
                f"step '{step.step_name}' ended {result.status}: {result.error or 'no output'}",
                result.agent,
                "guardrail_tripwire" if result.status == "refused" else None,
            )
        self.agent = result.agent
        return result.response_text

    async def _end(self, status: str, output: str | None, error: str | None) -> bool:
        """Record the outcome of a run still `running`; False if it was cancelled meanwhile."""
        now = datetime.now(UTC)
        totals: dict[str, Any] = {
            "input_tokens": self.usage_in,
            "output_tokens": self.usage_out,
            "requests": self.requests,
        }
        async with self.ctx.session() as s:
            if status == "cancelled":  # `cancel_run` already set the status
                await s.execute(update(WorkflowRun).where(WorkflowRun.id == self.run_id).values(**totals))
                await s.commit()
                return True
            ended = (
                await s.scalar(
                    update(WorkflowRun)
                    .where(WorkflowRun.id == self.run_id, WorkflowRun.status == "running")
                    .values(status=status, final_output_text=output, error=error, ended_at=now, **totals)
                    .returning(WorkflowRun.id)
                )
                is not None
            )
            if ended and output:
                await add_assistant_message(s, self.conversation_id, output, self.agent, now)
            if ended:  # a cancelled run's end is recorded by `cancel_run`, with who cancelled it
                activity.record(
                    self.ctx,
                    s,
                    "workflow.run.completed",
                    object_type="workflow_run",
                    object_id=self.run_id,
                    object_name=self.spec.key,
                    status="success" if status == "succeeded" else "failure",
                    metadata={"workflow_key": self.spec.key, "run_id": str(self.run_id), "status": status},
                )
            await s.commit()
            return ended
