"""Runs that outlive their request — chat turns and workflow runs — and how they always end.

- **Heartbeats and orphans.** Each process touches `heartbeat_at` of the turns and runs it is
  executing every `run_heartbeat_seconds`. One still `running` whose heartbeat is three
  intervals old belongs to a process that is gone (killed, crashed, restarted): the next sweep,
  on any process (one runs at start-up), marks it `failed` and ends its stream with an `error`
  event. Nothing is resumed: a half-done turn may have called tools with effects.
- **Terminal events are kept.** A run's `final` or `error` event is stored in its row before the
  bus has it (`terminal_recorder`), so that a reader whose stream cannot be read — Redis down,
  the writing process gone, this process restarted — still ends with it (`follow`).
- **Cancel** (workflow runs): the run id is published on the bus; the process running it cancels
  the in-flight steps. Should the message be lost, the heartbeat sees the row's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update

from agentdeck.context import Context, Services
from agentdeck.db.models import ChatRun, WorkflowRun
from agentdeck.domain import activity
from agentdeck.domain.agents.streams import (
    TERMINAL,
    OnTerminal,
    StreamWriter,
    envelope,
    workflow_context,
)
from agentdeck.domain.catalog import WORKFLOWS

log = logging.getLogger("agentdeck.runs")
CANCEL_CHANNEL = "workflows:cancel"
MISSED_HEARTBEATS = 3
ORPHANED = {
    ChatRun: "interrupted: the server running this turn stopped before it finished",
    WorkflowRun: "interrupted: the server running this workflow stopped before it finished",
}
RunModel = type[ChatRun] | type[WorkflowRun]


class Cancellable(Protocol):
    cancel_requested: bool

    def cancel(self) -> None: ...


def terminal_recorder(services: Services, model: RunModel, run_id: uuid.UUID) -> OnTerminal:
    """Keeps a run's terminal event in its row (any process's session: the id is the run's)."""

    async def record(event: dict[str, Any]) -> None:
        async with services.db.platform_session() as s:
            await s.execute(update(model).where(model.id == run_id).values(terminal_event=event))
            await s.commit()

    return record


async def follow(ctx: Context, model: RunModel, stream_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
    """The events of a run's stream after `after`, ending with exactly one terminal event: the
    stream's own, else the one kept in the row, else (silent for the idle timeout) an `error`
    saying so, numbered like the last event delivered so that resuming from it loses nothing."""
    last, conversation = after, ""

    async def from_row() -> dict[str, Any] | None:
        nonlocal conversation
        async with ctx.services.db.platform_session() as s:
            row = (
                await s.execute(select(model.terminal_event, model.conversation_id).where(model.stream_id == stream_id))
            ).one_or_none()
        if row is None:
            return None
        conversation = str(row.conversation_id or "")
        terminal = row.terminal_event
        if terminal is not None and terminal["event_id"] <= last:
            # Written by a sweeper that could not read the stream: still this reader's end.
            terminal = {**terminal, "event_id": last + 1}
        return terminal

    async for event in ctx.bus.replay(
        stream_id,
        after,
        wait_s=ctx.settings.stream_idle_timeout_seconds,
        idle_check=from_row,
        check_every=ctx.settings.run_heartbeat_seconds,
    ):
        last = event["event_id"]
        yield event
        if event["kind"] in TERMINAL:
            return
    yield envelope(
        stream_id,
        conversation,
        last,
        "error",
        error={
            "code": "stream_idle",
            "message": "No event for a while; the run may still be going: resume from the last event id.",
            "source": "server",
            "is_retryable": True,
        },
    )


class RunSupervisor:
    """Per process: the turns and runs it executes, their heartbeats, the orphan sweep and the
    workflow cancel listener."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.turns: set[uuid.UUID] = set()
        self.runs: dict[uuid.UUID, Cancellable] = {}
        self._tasks: list[asyncio.Task] = []

    @property
    def interval(self) -> float:
        return self.services.settings.run_heartbeat_seconds

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="workflow-cancels"),
            asyncio.create_task(self._beat(), name="run-heartbeat"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def launch_turn(self, run_id: uuid.UUID, work: Coroutine[Any, Any, Any]) -> None:
        self.turns.add(run_id)
        self.services.spawn(self._supervised(run_id, work, lambda: self.turns.discard(run_id)))

    def launch_run(self, run_id: uuid.UUID, runner: Cancellable, work: Coroutine[Any, Any, Any]) -> None:
        self.runs[run_id] = runner
        self.services.spawn(self._supervised(run_id, work, lambda: self.runs.pop(run_id, None)))

    @staticmethod
    async def _supervised(run_id: uuid.UUID, work: Awaitable[Any], done: Callable[[], object]) -> None:
        try:
            await work
        except Exception:
            # Past the work's own handling (e.g. no database connection to record the end): its
            # heartbeats stop with it, so the sweep fails the row and its readers get that end.
            log.exception("run %s failed outside its own error handling; the sweep will end it", run_id)
        finally:
            done()

    async def request_cancel(self, run_id: uuid.UUID) -> None:
        """Tell whichever process runs `run_id` (this one included) to stop it."""
        await self.services.bus.publish(CANCEL_CHANNEL, {"run_id": str(run_id)})

    def _cancel_local(self, run_id: uuid.UUID) -> None:
        runner = self.runs.get(run_id)
        if runner is not None and not runner.cancel_requested:
            runner.cancel()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.services.bus.subscribe(CANCEL_CHANNEL) as messages:
                    async for message in messages:
                        with contextlib.suppress(KeyError, ValueError, TypeError):
                            self._cancel_local(uuid.UUID(message["run_id"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the bus may be down; the heartbeat covers meanwhile
                log.warning("workflow cancel listener lost the bus; retrying")
                await asyncio.sleep(1)

    async def _beat(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:  # noqa: BLE001 - a failed round must not end the loop
                log.exception("run heartbeat failed")
            await asyncio.sleep(self.interval)

    async def beat(self) -> None:
        """Touch this process's turns and runs, stop runs cancelled behind the bus's back, fail
        orphans of both kinds."""
        now = datetime.now(UTC)
        stale = now - timedelta(seconds=self.interval * MISSED_HEARTBEATS)
        stopped: list[uuid.UUID] = []
        orphans: list[tuple[RunModel, Any]] = []
        async with self.services.db.platform_session() as s:  # all tenants: this is the process's own work
            for model, ids in ((ChatRun, list(self.turns)), (WorkflowRun, list(self.runs))):
                if ids:
                    await s.execute(
                        update(model).where(model.id.in_(ids), model.status == "running").values(heartbeat_at=now)
                    )
                orphans += [
                    (model, row)
                    for row in (
                        await s.execute(
                            update(model)
                            .where(
                                model.status == "running", func.coalesce(model.heartbeat_at, model.started_at) < stale
                            )
                            .values(status="failed", error=ORPHANED[model], ended_at=now)
                            .returning(*_orphan_columns(model))
                        )
                    ).all()
                ]
            for model, row in orphans:
                if model is WorkflowRun:  # its runner is gone: the run's end is recorded here
                    activity.record(
                        self.services,
                        s,
                        "workflow.run.completed",
                        tenant_id=row.tenant_id,
                        object_type="workflow_run",
                        object_id=row.id,
                        object_name=row.workflow_key,
                        status="failure",
                        metadata={"workflow_key": row.workflow_key, "run_id": str(row.id), "status": "failed"},
                    )
            if self.runs:
                stopped = list(
                    (
                        await s.scalars(
                            select(WorkflowRun.id).where(
                                WorkflowRun.id.in_(list(self.runs)), WorkflowRun.status != "running"
                            )
                        )
                    ).all()
                )
            await s.commit()
        for run_id in stopped:
            self._cancel_local(run_id)
        for model, row in orphans:
            log.warning("%s %s was orphaned; marked failed", model.__tablename__, row.id)
            await self._end_stream(model, row)

    async def _end_stream(self, model: RunModel, row: Any) -> None:
        """Give the orphan's readers (on any process, with Redis) their terminal event."""
        last, ended = 0, False
        async for event in self.services.bus.replay(row.stream_id, 0, wait_s=0.05):
            last, ended = event["event_id"], event["kind"] in TERMINAL
        if ended:
            return
        workflow = None
        if model is WorkflowRun and (spec := WORKFLOWS.get(row.workflow_key)) is not None:
            workflow = workflow_context(spec, row.id)
        writer = StreamWriter(
            self.services.bus,
            row.stream_id,
            str(row.conversation_id or ""),
            workflow,
            after=last,
            on_terminal=terminal_recorder(self.services, model, row.id),
        )
        await writer.emit(
            "error",
            None,
            error={"code": "interrupted", "message": ORPHANED[model], "source": "server", "is_retryable": True},
        )


def _orphan_columns(model: RunModel) -> tuple[Any, ...]:
    columns = (model.id, model.stream_id, model.conversation_id, model.tenant_id)
    return (*columns, WorkflowRun.workflow_key) if model is WorkflowRun else columns
