"""The public stream envelope (`public_sse_v1`) shared by chat turns and workflow runs.

A `StreamWriter` numbers events 1, 2, ... within one stream, fills the envelope, and appends each
to the bus's replayable stream, so any number of readers (SSE, WebSocket, a resumed client on
another process) see the same events in the same order. The terminal event (`final` or
`error`) closes the stream.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentdeck.domain.catalog import WorkflowSpec, WorkflowStage, WorkflowStep
from agentdeck.providers.bus import Bus

TERMINAL = frozenset({"final", "error"})


def new_stream_id(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex}"


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def timestamp() -> str:
    """Now in UTC as `datetime.now(UTC).isoformat()` writes it, with `Z` (no fraction when the
    microseconds are 0). The date and time of day are formatted once per second: formatting a
    datetime per event was ~5% of a streamed delta's server time."""
    global _second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)  # what `datetime.now` reads, floored alike
    if _second[0] != seconds:
        _second = (seconds, datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    micros = nanos // 1000
    return f"{_second[1]}.{micros:06d}Z" if micros else f"{_second[1]}Z"


OnTerminal = Callable[[dict[str, Any]], Awaitable[None]]
T = TypeVar("T")


class _Sequence:
    """What the writers of one stream share: the event counter, a lock so events reach the bus
    in number order (Redis Streams refuse an id lower than the last) even when parallel workflow
    branches write at once, and where the terminal event is kept."""

    def __init__(self, last: int, on_terminal: OnTerminal | None) -> None:
        self.last = last
        self.closed = False
        self.lock = asyncio.Lock()
        self.on_terminal = on_terminal


class StreamWriter:
    def __init__(
        self,
        bus: Bus,
        stream_id: str,
        conversation_id: str,
        workflow: dict[str, Any] | None = None,
        *,
        after: int = 0,
        on_terminal: OnTerminal | None = None,
        _sequence: _Sequence | None = None,
    ) -> None:
        """`after`: the number of events the stream already holds (a writer taking over a stream).
        `on_terminal(event)` keeps the terminal event (in the run's row) before the bus has it, so
        a reader that cannot read the stream still ends with it."""
        self.bus = bus
        self.stream_id = stream_id
        self.conversation_id = conversation_id
        self.workflow = workflow
        self.response_id: str | None = None
        self._sequence = _sequence or _Sequence(after, on_terminal)

    def fork(self, workflow: dict[str, Any] | None) -> StreamWriter:
        """A writer to the same stream with its own `workflow` context and `response_id`."""
        return StreamWriter(self.bus, self.stream_id, self.conversation_id, workflow, _sequence=self._sequence)

    @property
    def closed(self) -> bool:
        return self._sequence.closed

    async def emit(self, kind: str, agent: str | None, *, item: tuple[int, str] | None = None, **fields: Any) -> dict:
        sequence = self._sequence
        async with sequence.lock:
            if sequence.closed:
                raise RuntimeError(f"stream {self.stream_id} already ended")
            event = self._numbered(kind, agent, item, fields)
            sequence.closed = kind in TERMINAL
            if sequence.closed and sequence.on_terminal is not None:
                await sequence.on_terminal(event)
            await self.bus.append(self.stream_id, sequence.last, event, final=sequence.closed)
        return event

    async def close_with(
        self,
        events: list[tuple[str, str | None, dict[str, Any]]],
        keep: Callable[[dict[str, Any]], Awaitable[T]],
    ) -> T:
        """The closing events (the last one terminal), numbered; `keep(terminal)` runs before any
        of them reaches the bus (the run's finishing transaction storing its terminal event in
        place of `on_terminal`'s own write), so a reader who sees them can read what they report."""
        sequence = self._sequence
        async with sequence.lock:
            if sequence.closed:
                raise RuntimeError(f"stream {self.stream_id} already ended")
            before = sequence.last
            numbered = [self._numbered(kind, agent, None, fields) for kind, agent, fields in events]
            assert numbered[-1]["kind"] in TERMINAL and all(e["kind"] not in TERMINAL for e in numbered[:-1])
            try:
                kept = await keep(numbered[-1])
            except BaseException:
                sequence.last = before  # nothing was sent: the numbers are free again
                raise
            sequence.closed = True
            for event in numbered:
                await self.bus.append(self.stream_id, event["event_id"], event, final=event is numbered[-1])
        return kept

    def _numbered(
        self, kind: str, agent: str | None, item: tuple[int, str] | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """The next event's envelope (the caller holds the sequence's lock)."""
        sequence = self._sequence
        sequence.last += 1
        event: dict[str, Any] = {
            "schema": "public_sse_v1",
            "event_id": sequence.last,
            "stream_id": self.stream_id,
            "server_timestamp": timestamp(),
            "conversation_id": self.conversation_id,
            "response_id": self.response_id,
            "agent": agent,
            "workflow": self.workflow,
            "scope": None,
            "provider_sequence_number": None,
            "notices": None,
        }
        if item is not None:
            event["output_index"], event["item_id"] = item
        event["kind"] = kind
        event.update(fields)
        return event


def envelope(stream_id: str, conversation_id: str, event_id: int, kind: str, **fields: Any) -> dict[str, Any]:
    """An event made outside a writer (a reader's own terminal event) with the same envelope."""
    return {
        "schema": "public_sse_v1",
        "event_id": event_id,
        "stream_id": stream_id,
        "server_timestamp": timestamp(),
        "conversation_id": conversation_id,
        "response_id": None,
        "agent": None,
        "workflow": None,
        "scope": None,
        "provider_sequence_number": None,
        "notices": None,
        "kind": kind,
        **fields,
    }


def workflow_context(
    spec: WorkflowSpec,
    run_id: uuid.UUID,
    stage: WorkflowStage | None = None,
    step: WorkflowStep | None = None,
    branch: int | None = None,
) -> dict[str, Any]:
    """The `workflow` object of the stream envelope."""
    return {
        "workflow_key": spec.key,
        "workflow_run_id": str(run_id),
        "stage_name": stage.name if stage else None,
        "step_name": step.step_name if step else None,
        "step_agent": step.agent_key if step else None,
        "parallel_group": stage.name if stage is not None and stage.mode == "parallel" else None,
        "branch_index": branch,
    }
