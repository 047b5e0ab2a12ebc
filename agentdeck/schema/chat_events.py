"""The `public_sse_v1` stream events as GraphQL types (field order = the legacy wire order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON


@strawberry.type
class WorkflowContext:
    workflow_key: str | None
    workflow_run_id: str | None
    stage_name: str | None
    step_name: str | None
    step_agent: str | None
    parallel_group: str | None
    branch_index: int | None


@strawberry.interface(description="The envelope every stream event carries.")
class StreamEventBase:
    schema: str
    event_id: int
    stream_id: str
    server_timestamp: str
    conversation_id: str
    response_id: str | None
    agent: str | None
    workflow: WorkflowContext | None
    scope: JSON | None
    provider_sequence_number: int | None
    notices: JSON | None


@strawberry.interface(description="Events about one item of the provider's output.")
class ItemEventBase(StreamEventBase):
    output_index: int
    item_id: str


@strawberry.type
class LifecycleEvent(StreamEventBase):
    kind: str
    status: str
    reason: str | None


@strawberry.type
class AgentUpdatedEvent(StreamEventBase):
    kind: str
    from_agent: str | None
    to_agent: str
    handoff_index: int | None


@strawberry.type
class OutputItemAddedEvent(ItemEventBase):
    kind: str
    item_type: str
    role: str
    status: str


@strawberry.type
class OutputItemDoneEvent(ItemEventBase):
    kind: str
    item_type: str
    role: str
    status: str


@strawberry.type
class MessageDeltaEvent(ItemEventBase):
    kind: str
    content_index: int
    delta: str


@strawberry.type
class FunctionToolState:
    tool_type: str
    tool_call_id: str
    status: str
    name: str
    arguments_text: str | None
    arguments_json: JSON | None
    output: JSON | None


@strawberry.type
class ToolStatusEvent(ItemEventBase):
    kind: str
    tool: FunctionToolState


@strawberry.type
class ToolArgumentsDeltaEvent(ItemEventBase):
    kind: str
    tool_call_id: str
    tool_type: str
    tool_name: str
    delta: str


@strawberry.type
class ToolArgumentsDoneEvent(ItemEventBase):
    kind: str
    tool_call_id: str
    tool_type: str
    tool_name: str
    arguments_text: str
    arguments_json: JSON | None


@strawberry.type
class ToolOutputEvent(ItemEventBase):
    kind: str
    tool_call_id: str
    tool_type: str
    output: JSON | None


@strawberry.type
class ErrorPayload:
    code: str | None
    message: str
    source: str
    is_retryable: bool


@strawberry.type
class ErrorEvent(StreamEventBase):
    kind: str
    error: ErrorPayload


@strawberry.type
class StreamUsage:
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cached_input_tokens: int | None
    reasoning_output_tokens: int | None
    requests: int | None


@strawberry.type
class FinalPayload:
    status: str
    response_text: str | None
    structured_output: JSON | None
    reasoning_summary_text: str | None
    refusal_text: str | None
    attachments: list[JSON]
    usage: StreamUsage | None


@strawberry.type
class FinalEvent(StreamEventBase):
    kind: str
    final: FinalPayload


StreamEvent = Annotated[
    LifecycleEvent
    | AgentUpdatedEvent
    | OutputItemAddedEvent
    | OutputItemDoneEvent
    | MessageDeltaEvent
    | ToolStatusEvent
    | ToolArgumentsDeltaEvent
    | ToolArgumentsDoneEvent
    | ToolOutputEvent
    | ErrorEvent
    | FinalEvent,
    strawberry.union("StreamEvent", description="One `public_sse_v1` event of a chat turn or workflow run."),
]

_KINDS: dict[str, Callable[..., StreamEvent]] = {
    "lifecycle": LifecycleEvent,
    "agent.updated": AgentUpdatedEvent,
    "output_item.added": OutputItemAddedEvent,
    "output_item.done": OutputItemDoneEvent,
    "message.delta": MessageDeltaEvent,
    "tool.status": ToolStatusEvent,
    "tool.arguments.delta": ToolArgumentsDeltaEvent,
    "tool.arguments.done": ToolArgumentsDoneEvent,
    "tool.output": ToolOutputEvent,
    "error": ErrorEvent,
    "final": FinalEvent,
}


def to_event(event: dict[str, Any]) -> StreamEvent:
    """A stream event (the dict the bus carries) as its GraphQL type."""
    fields = dict(event)
    if fields.get("workflow") is not None:
        fields["workflow"] = WorkflowContext(**fields["workflow"])
    if "tool" in fields:
        fields["tool"] = FunctionToolState(**fields["tool"])
    if "error" in fields:
        fields["error"] = ErrorPayload(**fields["error"])
    if "final" in fields:
        final = dict(fields["final"])
        final["usage"] = StreamUsage(**final["usage"]) if final.get("usage") else None
        fields["final"] = FinalPayload(**final)
    return _KINDS[event["kind"]](**fields)
