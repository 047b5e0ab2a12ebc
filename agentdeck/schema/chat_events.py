"""The `public_sse_v1` stream events as GraphQL types (field order = the legacy wire order)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from agentdeck.schema.guardrails import GuardrailStage

if TYPE_CHECKING:
    from agentdeck.schema.chat_nodes import Agent, Conversation, MessageRole

Role = Annotated["MessageRole", strawberry.lazy("agentdeck.schema.chat_nodes")]

# The closed sets of the stream, as enums whose values are the wire strings: the REST face
# serialises every enum by its value (schema/__init__.py), so the SSE bodies stay byte for byte
# the legacy ones while GraphQL clients get `MESSAGE_DELTA`, `IN_PROGRESS`, ...


@strawberry.enum(description="What a stream event reports; each kind has its own event type.")
class StreamEventKind(Enum):
    LIFECYCLE = "lifecycle"
    AGENT_UPDATED = "agent.updated"
    OUTPUT_ITEM_ADDED = "output_item.added"
    OUTPUT_ITEM_DONE = "output_item.done"
    MESSAGE_DELTA = "message.delta"
    TOOL_STATUS = "tool.status"
    TOOL_ARGUMENTS_DELTA = "tool.arguments.delta"
    TOOL_ARGUMENTS_DONE = "tool.arguments.done"
    TOOL_OUTPUT = "tool.output"
    ERROR = "error"
    FINAL = "final"
    GUARDRAIL = strawberry.enum_value("guardrail", description="Native streams only: the REST streams carry none.")


@strawberry.enum(
    description="Where a turn, a run, an output item or a tool call is (one set: a stream's events are "
    "selected together, so their `status` fields share one type)."
)
class StreamStatus(Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    SEARCHING = "searching"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.enum(description="How a turn or run ended, as its final event reports it.")
class FinalStatus(Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@strawberry.enum(description="What an output item of the model is.")
class OutputItemType(Enum):
    MESSAGE = "message"
    FUNCTION_CALL = "function_call"


@strawberry.enum(description="What kind of tool a tool event is about.")
class ToolType(Enum):
    FUNCTION = "function"
    FILE_SEARCH = "file_search"
    WEB_SEARCH = "web_search"
    CODE_INTERPRETER = "code_interpreter"
    IMAGE_GENERATION = "image_generation"
    MCP = "mcp"
    AGENT = "agent"


@strawberry.enum(description="Where a stream's error came from.")
class ErrorSource(Enum):
    PROVIDER = "provider"
    SERVER = "server"


@strawberry.type
class WorkflowContext:
    workflow_key: str | None
    workflow_run_id: str | None
    stage_name: str | None
    step_name: str | None
    step_agent: str | None
    parallel_group: str | None
    branch_index: int | None


# Fields of the native graph only: the REST face's SSE bodies (which select every other field)
# leave them out, so they stay byte for byte what they were.
GRAPHQL_ONLY = {"rest": {"skip": True}}


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

    @strawberry.field(metadata=GRAPHQL_ONLY, description="`serverTimestamp` as a DateTime.")
    def server_time(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.server_timestamp)
        except ValueError:
            return None

    @strawberry.field(
        metadata=GRAPHQL_ONLY, description="The conversation the event belongs to (`conversationId` as a node)."
    )
    async def conversation(
        self, info: strawberry.Info
    ) -> Annotated[Conversation, strawberry.lazy("agentdeck.schema.chat_nodes")] | None:
        from agentdeck.schema.chat_nodes import load_conversation

        try:
            conversation_id = uuid.UUID(self.conversation_id)
        except ValueError:
            return None
        return await load_conversation(info, conversation_id)

    @strawberry.field(metadata=GRAPHQL_ONLY, description="The agent that produced the event (`agent` as a node).")
    def agent_node(self) -> Annotated[Agent, strawberry.lazy("agentdeck.schema.chat_nodes")] | None:
        from agentdeck.schema.chat_nodes import agent_node

        return agent_node(self.agent)


@strawberry.interface(description="Events about one item of the provider's output.")
class ItemEventBase(StreamEventBase):
    output_index: int
    item_id: str


@strawberry.type
class LifecycleEvent(StreamEventBase):
    kind: StreamEventKind
    status: StreamStatus
    reason: str | None


@strawberry.type
class AgentUpdatedEvent(StreamEventBase):
    kind: StreamEventKind
    from_agent: str | None
    to_agent: str
    handoff_index: int | None


@strawberry.type
class OutputItemAddedEvent(ItemEventBase):
    kind: StreamEventKind
    item_type: OutputItemType
    role: Role
    status: StreamStatus


@strawberry.type
class OutputItemDoneEvent(ItemEventBase):
    kind: StreamEventKind
    item_type: OutputItemType
    role: Role
    status: StreamStatus


@strawberry.type
class MessageDeltaEvent(ItemEventBase):
    kind: StreamEventKind
    content_index: int
    delta: str


@strawberry.type
class FunctionToolState:
    tool_type: ToolType
    tool_call_id: str
    status: StreamStatus
    name: str
    arguments_text: str | None
    arguments_json: JSON | None
    output: JSON | None


@strawberry.type
class ToolStatusEvent(ItemEventBase):
    kind: StreamEventKind
    tool: FunctionToolState


@strawberry.type
class ToolArgumentsDeltaEvent(ItemEventBase):
    kind: StreamEventKind
    tool_call_id: str
    tool_type: ToolType
    tool_name: str
    delta: str


@strawberry.type
class ToolArgumentsDoneEvent(ItemEventBase):
    kind: StreamEventKind
    tool_call_id: str
    tool_type: ToolType
    tool_name: str
    arguments_text: str
    arguments_json: JSON | None


@strawberry.type
class ToolOutputEvent(ItemEventBase):
    kind: StreamEventKind
    tool_call_id: str
    tool_type: ToolType
    output: JSON | None


@strawberry.type
class ErrorPayload:
    code: str | None
    message: str
    source: ErrorSource
    is_retryable: bool


@strawberry.type
class ErrorEvent(StreamEventBase):
    kind: StreamEventKind
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
    status: FinalStatus
    response_text: str | None
    structured_output: JSON | None
    reasoning_summary_text: str | None
    refusal_text: str | None
    attachments: list[JSON]
    usage: StreamUsage | None


@strawberry.type
class FinalEvent(StreamEventBase):
    kind: StreamEventKind
    final: FinalPayload


@strawberry.enum(description="What a guardrail did.")
class GuardrailAction(Enum):
    MASKED = strawberry.enum_value("masked", description="It replaced personal data or URLs in the text.")
    BLOCKED = strawberry.enum_value("blocked", description="It refused the turn (the `final` event is `refused`).")


@strawberry.type(
    description="A guardrail acted on the turn (native graph only: the legacy REST stream has no such event; "
    "it sees the masked text, a `redacted` notice on the terminal event, or the refusal)."
)
class GuardrailEvent(StreamEventBase):
    kind: StreamEventKind
    guardrail_key: str = strawberry.field(description="The guardrail's key (`guardrail(key:)`).")
    guardrail_stage: GuardrailStage
    action: GuardrailAction
    message: str = strawberry.field(description="What it did, for people.")
    details: JSON | None = strawberry.field(description="E.g. `{entities: {EMAIL_ADDRESS: 1}}` for masking.")


# The legacy REST streams' events (the contract's StreamingChatEvent); same GraphQL name as the
# native union, which adds `GuardrailEvent`: the two are never in one face.
LegacyStreamEvent = Annotated[
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
    | FinalEvent
    | GuardrailEvent,
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
    "guardrail": GuardrailEvent,
}
LEGACY_KINDS = frozenset(_KINDS) - {"guardrail"}


async def legacy_events(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[LegacyStreamEvent]:
    """The events of the legacy REST streams: those of the legacy contract, as GraphQL types."""
    async for event in events:
        if event["kind"] in LEGACY_KINDS:
            yield cast(LegacyStreamEvent, to_event(event))


def _init_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init)


# The event types whose fields are all the bus's values as they are (no nested type to build),
# with the names their constructor takes: an event of one with exactly those keys (and no
# workflow context) is made by setting its attributes, what the dataclass `__init__` would do.
_PLAIN_KINDS: dict[str, tuple[type, frozenset[str]]] = {
    kind: (cast(type, cls), _init_names(cast(type, cls)))
    for kind, cls in _KINDS.items()
    if kind != "guardrail" and not _init_names(cast(type, cls)) & {"tool", "error", "final"}
}


def to_event(event: dict[str, Any]) -> StreamEvent:
    """A stream event (the dict the bus carries) as its GraphQL type."""
    plain = _PLAIN_KINDS.get(event["kind"])
    if plain is not None and event.get("workflow") is None and event.keys() == plain[1]:
        # `cls(**event)` without the call (~5% of a streamed delta's server time with the copy)
        made: Any = object.__new__(plain[0])
        made.__dict__.update(event)
        return cast(StreamEvent, made)
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
    if event["kind"] == "guardrail":
        fields["guardrail_stage"] = GuardrailStage(fields["guardrail_stage"])
        fields["action"] = GuardrailAction(fields["action"])
    return _KINDS[event["kind"]](**fields)
