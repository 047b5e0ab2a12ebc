"""The public stream envelope (`public_sse_v1`) shared by chat turns and workflow runs.

A `StreamWriter` numbers events 1, 2, ... within one stream, fills the envelope, and appends each
to the bus's replayable stream, so any number of readers (SSE, WebSocket, a resumed client on
another process) see the same events in the same order. The terminal event (`final` or
`error`) closes the stream.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from agentdeck.providers.bus import Bus

TERMINAL = frozenset({"final", "error"})


def new_stream_id(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex}"


def timestamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class StreamWriter:
    def __init__(self, bus: Bus, stream_id: str, conversation_id: str, workflow: dict[str, Any] | None = None) -> None:
        self.bus = bus
        self.stream_id = stream_id
        self.conversation_id = conversation_id
        self.workflow = workflow
        self.response_id: str | None = None
        self.seq = 0
        self.closed = False

    async def emit(self, kind: str, agent: str | None, *, item: tuple[int, str] | None = None, **fields: Any) -> dict:
        if self.closed:
            raise RuntimeError(f"stream {self.stream_id} already ended")
        self.seq += 1
        event: dict[str, Any] = {
            "schema": "public_sse_v1",
            "event_id": self.seq,
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
        self.closed = kind in TERMINAL
        await self.bus.append(self.stream_id, self.seq, event, final=self.closed)
        return event
