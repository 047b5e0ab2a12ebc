"""Chat, agents, tools and conversations.

The native roots (`Query`, `Mutation`, `Subscription`) serve the graph of `schema/chat_nodes.py`
on `/graphql`. The `Rest*` roots keep the legacy fields the REST route table runs (their shapes
are the REST contract's: envelopes, cursor pages, snake_case strings); they are not in
`schema.graphql`. Both call the same domain functions.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from agentdeck.db.models import Conversation, ConversationEvent, ConversationMessage
from agentdeck.domain.agents import directory as ra
from agentdeck.domain.agents import memory as rm
from agentdeck.domain.agents.search import SearchHit
from agentdeck.domain.catalog import SPECS, AgentSpec
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.chat import turns as rc
from agentdeck.domain.common import idempotency as ri
from agentdeck.domain.common.results import CursorPage, Page
from agentdeck.errors import DomainError, NotFound
from agentdeck.schema import graph
from agentdeck.schema.chat_events import LegacyStreamEvent, StreamEvent, StreamUsage, legacy_events, to_event
from agentdeck.schema.chat_nodes import (
    Agent,
    AgentFilter,
    AgentToolingFlags,
    ConversationFilter,
    ConversationMemory,
    ConversationSearchHit,
    HandoffContextPolicy,
    MemoryMode,
    SearchFirst,
    Tool,
    TurnStatus,
    agent_node,
    conversation_uuid,
    load_conversation,
)
from agentdeck.schema.chat_nodes import (
    Conversation as ConversationNode,
)
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.inputs import fast_input
from agentdeck.schema.limits import PageSize, limited
from agentdeck.schema.permissions import Scope, TenantRole, allow

SearchPageSize = Annotated[int, strawberry.argument(metadata=limited(rv.SEARCH_PAGE_SIZE))]
READ = allow(Scope("conversations:read"), TenantRole("viewer"))
WRITE = allow(Scope("conversations:write"), TenantRole("viewer"))
TOOLS = allow(Scope("tools:read"))


@strawberry.type
class AgentSummary:
    name: str
    status: str
    output_schema: JSON | None
    display_name: str | None
    description: str | None
    model: str | None
    tooling: AgentToolingFlags
    last_seen_at: datetime | None

    @classmethod
    def from_spec(cls, spec: AgentSpec) -> AgentSummary:
        return cls(
            name=spec.key,
            status="active",
            output_schema=JSON(spec.output_schema),
            display_name=spec.display_name,
            description=spec.description,
            model=spec.model,
            tooling=AgentToolingFlags.from_spec(spec),
            last_seen_at=None,
        )


@strawberry.type
class AgentPage:
    items: list[AgentSummary]
    next_cursor: str | None
    total: int

    @classmethod
    def from_page(cls, page: ra.AgentPage) -> AgentPage:
        return cls(
            items=[AgentSummary.from_spec(s) for s in page.items], next_cursor=page.next_cursor, total=page.total
        )


@strawberry.type
class AgentStatus:
    name: str
    status: str
    output_schema: JSON | None
    last_used: datetime | None
    total_conversations: int
    tooling: AgentToolingFlags

    @classmethod
    def from_usage(cls, usage: ra.AgentUsage) -> AgentStatus:
        return cls(
            name=usage.spec.key,
            status="active",
            output_schema=JSON(usage.spec.output_schema),
            last_used=usage.last_used,
            total_conversations=usage.conversations,
            tooling=AgentToolingFlags.from_spec(usage.spec),
        )


@strawberry.type
class ToolCatalog:
    total_tools: int
    tool_names: list[str]
    categories: list[str]
    per_agent: JSON

    @classmethod
    def from_catalog(cls, catalog: ra.ToolCatalog) -> ToolCatalog:
        names = catalog.tool_names
        return cls(
            total_tools=len(names), tool_names=names, categories=catalog.categories, per_agent=JSON(catalog.per_agent)
        )


@strawberry.type
class ConversationSummary:
    conversation_id: uuid.UUID
    display_name: str | None
    agent_entrypoint: str | None
    active_agent: str | None
    topic_hint: str | None
    status: str | None
    message_count: int
    last_message_preview: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Conversation | rv.ConversationSummary) -> ConversationSummary:
        return cls(
            conversation_id=row.id,
            display_name=row.display_name,
            agent_entrypoint=row.agent_entrypoint,
            active_agent=row.active_agent,
            topic_hint=None,
            status=row.status,
            message_count=row.message_count,
            last_message_preview=row.last_message_preview,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class ConversationPage:
    items: list[ConversationSummary]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[rv.ConversationSummary]) -> ConversationPage:
        return cls(items=[ConversationSummary.from_row(r) for r in page.items], next_cursor=page.next_cursor)


@strawberry.type
class ConversationSearchResult:
    conversation_id: uuid.UUID
    display_name: str | None
    agent_entrypoint: str | None
    active_agent: str | None
    topic_hint: str | None
    status: str | None
    preview: str
    last_message_preview: str | None
    score: float | None
    updated_at: datetime | None

    @classmethod
    def from_hit(cls, hit: SearchHit) -> ConversationSearchResult:
        c = hit.conversation
        return cls(
            conversation_id=c.id,
            display_name=c.display_name,
            agent_entrypoint=c.agent_entrypoint,
            active_agent=c.active_agent,
            topic_hint=None,
            status=c.status,
            preview=hit.preview,
            last_message_preview=c.last_message_preview,
            score=hit.score,
            updated_at=c.updated_at,
        )


@strawberry.type
class ConversationSearchPage:
    items: list[ConversationSearchResult]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[SearchHit]) -> ConversationSearchPage:
        return cls(items=[ConversationSearchResult.from_hit(h) for h in page.items], next_cursor=page.next_cursor)


@strawberry.type
class ChatMessage:
    message_id: str | None
    role: str
    content: str
    timestamp: datetime | None
    attachments: list[JSON]

    @classmethod
    def from_row(cls, row: ConversationMessage) -> ChatMessage:
        return cls(
            message_id=str(row.id),
            role=row.role,
            content=row.content,
            timestamp=row.created_at,
            attachments=[JSON(a) for a in row.attachments],
        )


@strawberry.type
class ConversationHistory:
    conversation_id: uuid.UUID
    display_name: str | None
    messages: list[ChatMessage]
    created_at: datetime
    updated_at: datetime
    agent_context: JSON | None

    @classmethod
    def from_transcript(cls, transcript: rv.Transcript) -> ConversationHistory:
        c = transcript.conversation
        return cls(
            conversation_id=c.id,
            display_name=c.display_name,
            messages=[ChatMessage.from_row(m) for m in transcript.messages],
            created_at=c.created_at,
            updated_at=c.updated_at,
            agent_context=JSON({"agent_entrypoint": c.agent_entrypoint, "active_agent": c.active_agent}),
        )


@strawberry.type
class ConversationEventItem:
    sequence_no: int
    run_item_type: str
    run_item_name: str | None
    role: str | None
    agent: str | None
    tool_call_id: str | None
    tool_name: str | None
    model: str | None
    content_text: str | None
    reasoning_text: str | None
    call_arguments: JSON | None
    call_output: JSON | None
    attachments: list[JSON]
    response_id: str | None
    workflow_run_id: str | None
    timestamp: datetime

    @classmethod
    def from_row(cls, row: ConversationEvent) -> ConversationEventItem:
        return cls(
            sequence_no=row.sequence_no,
            run_item_type=row.run_item_type,
            run_item_name=row.run_item_name,
            role=row.role,
            agent=row.agent,
            tool_call_id=row.tool_call_id,
            tool_name=row.tool_name,
            model=row.model,
            content_text=row.content_text,
            reasoning_text=row.reasoning_text,
            call_arguments=JSON(row.call_arguments),
            call_output=JSON(row.call_output),
            attachments=[JSON(a) for a in row.attachments],
            response_id=row.response_id,
            workflow_run_id=row.workflow_run_id,
            timestamp=row.created_at,
        )


@strawberry.type
class ConversationEvents:
    conversation_id: uuid.UUID
    items: list[ConversationEventItem]

    @classmethod
    def from_ledger(cls, ledger: rv.EventLedger) -> ConversationEvents:
        return cls(
            conversation_id=ledger.conversation_id, items=[ConversationEventItem.from_row(e) for e in ledger.items]
        )


@strawberry.type
class AgentChatResponse:
    conversation_id: str
    response: str
    message: str | None
    agent_used: str | None
    handoff_occurred: bool | None
    attachments: list[JSON] | None
    structured_output: JSON | None
    output_schema: JSON | None
    metadata: JSON | None

    @classmethod
    def from_answer(cls, answer: rc.ChatAnswer) -> AgentChatResponse:
        return cls(
            conversation_id=answer.conversation_id,
            response=answer.response,
            message=None,
            agent_used=answer.agent_used,
            handoff_occurred=answer.handoff_occurred,
            attachments=[],
            structured_output=None,
            output_schema=JSON(answer.output_schema),
            metadata=JSON(answer.metadata),
        )


@strawberry.type(description="A started turn: observe it with the `chatEvents` subscription.")
class ChatTurn:
    conversation_id: uuid.UUID
    stream_id: str
    agent: str

    @classmethod
    def from_turn(cls, turn: rc.Turn) -> ChatTurn:
        return cls(conversation_id=turn.conversation_id, stream_id=turn.stream_id, agent=turn.agent.key)


@strawberry.input
class InputAttachment:
    object_id: uuid.UUID
    kind: str | None = None


@fast_input  # converted per chat turn: see schema/inputs.py
@strawberry.input(description="A chat message. Fields after `context` are accepted for legacy clients.")
class ChatInput:
    message: str
    conversation_id: str | None = None
    agent_type: str | None = None
    attachments: list[InputAttachment] | None = None
    share_location: bool | None = None
    location: JSON | None = None
    context: JSON | None = None
    run_options: JSON | None = None
    memory_strategy: JSON | None = None
    memory_injection: bool | None = None
    container_overrides: JSON | None = None
    vector_store_overrides: JSON | None = None


def _request(input: ChatInput) -> rc.ChatRequest:
    options = input.run_options if isinstance(input.run_options, dict) else None
    return rc.ChatRequest(input.message, input.conversation_id, input.agent_type, options)


@strawberry.type
class PaginatedMessages:
    items: list[ChatMessage]
    next_cursor: str | None
    prev_cursor: str | None

    @classmethod
    def from_page(cls, page: CursorPage[ConversationMessage]) -> PaginatedMessages:
        return cls(items=[ChatMessage.from_row(m) for m in page.items], next_cursor=page.next_cursor, prev_cursor=None)


def _turns(description: str) -> Any:
    return strawberry.field(default=strawberry.UNSET, description=description, metadata=limited(rm.TURNS))


@strawberry.input(description="The memory settings to change; a field sent as null is cleared, one left out is kept.")
class ConversationMemoryConfigInput:
    mode: str | None = strawberry.field(default=strawberry.UNSET, description="none, trim, summarize or compact.")
    max_user_turns: int | None = _turns("trim/summarize: act once the conversation has more turns than this.")
    keep_last_turns: int | None = _turns("trim/summarize: the turns kept whole.")
    compact_trigger_turns: int | None = _turns("compact: act once the conversation has more turns than this.")
    compact_keep: int | None = _turns("compact: the last turns left uncompacted.")
    clear_tool_inputs: bool | None = strawberry.field(
        default=strawberry.UNSET, description="compact: clear tool-call arguments too."
    )
    memory_injection: bool | None = strawberry.field(default=strawberry.UNSET, description="Stored and reported.")


def _changes(input: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields of `input` that were sent (UNSET: left out), by the domain's names."""
    out = {}
    for name in names:
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            out[name] = value.value if isinstance(value, MemoryMode) else value
    return out


@strawberry.type
class ConversationMemoryConfig:
    mode: str | None
    max_user_turns: int | None
    keep_last_turns: int | None
    compact_trigger_turns: int | None
    compact_keep: int | None
    clear_tool_inputs: bool | None
    memory_injection: bool | None

    @classmethod
    def from_config(cls, config: rm.MemoryConfig) -> ConversationMemoryConfig:
        return cls(**{name: getattr(config, name) for name in MEMORY_FIELDS})


@strawberry.type(description="A conversation's metadata after a change (REST: `GET /conversations/{id}/stream`).")
class ConversationMetadataEvent:
    conversation_id: uuid.UUID
    reason: str
    turn_status: str | None
    display_name: str | None
    status: str
    message_count: int
    agent_entrypoint: str | None
    active_agent: str | None
    last_message_preview: str
    updated_at: datetime

    @classmethod
    def from_update(cls, update: dict[str, Any]) -> ConversationMetadataEvent:
        return cls(
            conversation_id=uuid.UUID(update["conversation_id"]),
            reason=update["reason"],
            turn_status=update.get("turn_status"),
            display_name=update.get("display_name"),
            status=update["status"],
            message_count=update["message_count"],
            agent_entrypoint=update.get("agent_entrypoint"),
            active_agent=update.get("active_agent"),
            last_message_preview=update.get("last_message_preview") or "",
            updated_at=datetime.fromisoformat(update["updated_at"]),
        )


MEMORY_FIELDS = (
    "mode",
    "max_user_turns",
    "keep_last_turns",
    "compact_trigger_turns",
    "compact_keep",
    "clear_tool_inputs",
    "memory_injection",
)
MessagePageSize = Annotated[int, strawberry.argument(metadata=limited(rv.MESSAGE_PAGE_SIZE))]
MEMORY_WRITE = allow(Scope("conversations:write"), TenantRole("admin"))


@strawberry.type(name="Query")
class RestQuery:
    @strawberry.field(extensions=TOOLS, description="The agent catalog.")
    def agents(self, first: PageSize = 24, after: str | None = None, search: str | None = None) -> AgentPage:
        return AgentPage.from_page(ra.list_agents(first, after, search))

    @strawberry.field(extensions=TOOLS)
    async def agent_status(self, info: strawberry.Info, agent_name: str) -> AgentStatus:
        return AgentStatus.from_usage(await ra.agent_status(info.context, agent_name))

    @strawberry.field(extensions=TOOLS, description="Tools and which agents use them.")
    def tools(self) -> ToolCatalog:
        return ToolCatalog.from_catalog(ra.tool_catalog())

    @strawberry.field(extensions=READ)
    async def conversations(
        self, info: strawberry.Info, first: PageSize = 50, after: str | None = None, agent: str | None = None
    ) -> ConversationPage:
        return ConversationPage.from_page(await rv.list_conversations(info.context, first, after, agent))

    @strawberry.field(extensions=READ, description="Full-text search (BM25 on SQLite, ts_rank on PostgreSQL).")
    async def search_conversations(
        self,
        info: strawberry.Info,
        q: str,
        first: SearchPageSize = 20,
        after: str | None = None,
        agent: str | None = None,
    ) -> ConversationSearchPage:
        return ConversationSearchPage.from_page(await rv.search_conversations(info.context, q, first, after, agent))

    @strawberry.field(extensions=READ)
    async def conversation(self, info: strawberry.Info, conversation_id: str) -> ConversationHistory:
        return ConversationHistory.from_transcript(await rv.get_history(info.context, conversation_id))

    @strawberry.field(extensions=READ, description="The conversation's durable run-item ledger.")
    async def conversation_events(
        self, info: strawberry.Info, conversation_id: str, workflow_run_id: str | None = None
    ) -> ConversationEvents:
        return ConversationEvents.from_ledger(
            await rv.conversation_events(info.context, conversation_id, workflow_run_id)
        )

    @strawberry.field(extensions=READ, description="A page of the conversation's messages (newest first by default).")
    async def conversation_messages(
        self,
        info: strawberry.Info,
        conversation_id: str,
        limit: MessagePageSize = 50,
        cursor: str | None = None,
        direction: str = "desc",
    ) -> PaginatedMessages:
        page = await rv.message_page(info.context, conversation_id, limit, cursor, direction)
        return PaginatedMessages.from_page(page)


@strawberry.type(name="Mutation")
class RestMutation:
    @strawberry.mutation(extensions=WRITE, description="Send a message and wait for the whole answer.")
    async def chat(
        self, info: strawberry.Info, input: ChatInput, idempotency_key: IdempotencyKey = None
    ) -> AgentChatResponse:
        answer = await rc.chat(info.context, _request(input), keyed(idempotency_key, input=input))
        return AgentChatResponse.from_answer(answer)

    @strawberry.mutation(extensions=WRITE, description="Start a turn; observe it with `chatEvents`.")
    async def start_chat(
        self, info: strawberry.Info, input: ChatInput, idempotency_key: IdempotencyKey = None
    ) -> ChatTurn:
        turn = await rc.start_chat(info.context, _request(input), keyed(idempotency_key, input=input))
        return ChatTurn.from_turn(turn)

    @strawberry.mutation(extensions=allow(Scope("conversations:delete"), TenantRole("admin")))
    async def delete_conversation(self, info: strawberry.Info, conversation_id: str) -> bool:
        return await rv.delete_conversation(info.context, conversation_id)

    @strawberry.mutation(extensions=MEMORY_WRITE, description="Set or clear the conversation's memory strategy.")
    async def update_conversation_memory(
        self, info: strawberry.Info, conversation_id: str, input: ConversationMemoryConfigInput
    ) -> ConversationMemoryConfig:
        config = await rv.update_memory(info.context, conversation_id, _changes(input, MEMORY_FIELDS))
        return ConversationMemoryConfig.from_config(config)


@strawberry.type(name="Subscription")
class RestSubscription:
    @strawberry.subscription(extensions=WRITE, description="Send a message and stream the turn's events.")
    async def chat_stream(
        self, info: strawberry.Info, input: ChatInput, idempotency_key: IdempotencyKey = None
    ) -> AsyncGenerator[LegacyStreamEvent, None]:
        async for event in legacy_events(
            rc.chat_stream(info.context, _request(input), keyed(idempotency_key, input=input))
        ):
            yield event

    @strawberry.subscription(extensions=READ, description="A turn's events after `afterSeq` (resume).")
    async def chat_events(
        self, info: strawberry.Info, stream_id: str, after_seq: int = 0
    ) -> AsyncGenerator[LegacyStreamEvent, None]:
        async for event in legacy_events(rc.turn_events(info.context, stream_id, after_seq)):
            yield event

    @strawberry.subscription(extensions=READ, description="The conversation's metadata now, then after each change.")
    async def conversation_updates(
        self, info: strawberry.Info, conversation_id: str
    ) -> AsyncGenerator[ConversationMetadataEvent, None]:
        async for update in rv.conversation_updates(info.context, conversation_id):
            yield ConversationMetadataEvent.from_update(update)


# -- the native roots ----------------------------------------------------------------------------


def _idempotency_key() -> Any:
    return strawberry.field(
        default=None,
        description="Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by "
        "default, per caller and operation. A retry with the same key and input gets the first request's "
        "result and starts no second turn; another input with the key is refused.",
        metadata=limited(ri.KEY),
    )


@strawberry.input(description="A message to an agent: the first of a new conversation, or the next of one.")
class SendMessageInput:
    message: str = strawberry.field(description=f"The text (1-{rc.MAX_MESSAGE_CHARS} characters).")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The conversation to continue; none starts a new one."
    )
    agent: str | None = strawberry.field(
        default=None, description="The key of the agent to talk to (a new conversation); the default agent if none."
    )
    handoff_context_policy: HandoffContextPolicy | None = strawberry.field(
        default=None, description="How much of the conversation an agent taking over sees (the agent's own if none)."
    )
    idempotency_key: str | None = _idempotency_key()


@strawberry.input(description="A message to an agent whose answer is read from the `chatEvents` subscription.")
class StartChatInput(SendMessageInput):
    pass


@strawberry.input(description="The conversation to delete.")
class DeleteConversationInput:
    id: strawberry.ID = strawberry.field(description="The conversation to delete.")


@strawberry.type(description="The answer of `sendMessage`.")
class SendMessagePayload:
    conversation_id: strawberry.Private[uuid.UUID | None] = None
    agent_key: strawberry.Private[str | None] = None
    response: str | None = strawberry.field(default=None, description="The agent's answer.")
    handoff_occurred: bool | None = strawberry.field(default=None, description="Whether another agent took over.")
    stream_id: str | None = strawberry.field(default=None, description="The turn's stream (`chatEvents` replays it).")
    status: TurnStatus | None = strawberry.field(default=None, description="How the turn ended.")
    usage: StreamUsage | None = strawberry.field(default=None, description="The tokens and requests the turn took.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list)

    @strawberry.field(description="The conversation the message went to.")
    async def conversation(self, info: strawberry.Info) -> ConversationNode | None:
        return await load_conversation(info, self.conversation_id)

    @strawberry.field(description="The agent that answered (the last one, after handoffs).")
    def agent(self) -> Agent | None:
        return agent_node(self.agent_key)


@strawberry.type(description="The started turn of `startChat`.")
class StartChatPayload:
    conversation_id: strawberry.Private[uuid.UUID | None] = None
    agent_key: strawberry.Private[str | None] = None
    stream_id: str | None = strawberry.field(
        default=None, description="The turn's stream: subscribe to `chatEvents(streamId:)`."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list)

    @strawberry.field(description="The conversation the message went to.")
    async def conversation(self, info: strawberry.Info) -> ConversationNode | None:
        return await load_conversation(info, self.conversation_id)

    @strawberry.field(description="The agent answering.")
    def agent(self) -> Agent | None:
        return agent_node(self.agent_key)


@strawberry.type(description="The answer of `deleteConversation`.")
class DeleteConversationPayload:
    deleted_conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global id of the deleted conversation."
    )
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list)


def _native_turns(description: str) -> Any:
    return strawberry.field(
        default=strawberry.UNSET,
        description=f"{description} (1-{rm.TURNS.le}; null clears it).",
        metadata=limited(rm.TURNS),
    )


@strawberry.input(description="The memory settings of a conversation to change: a field left out keeps its value.")
class UpdateConversationMemoryInput:
    id: strawberry.ID = strawberry.field(description="The conversation.")
    mode: MemoryMode | None = strawberry.field(default=strawberry.UNSET, description="The strategy (null clears it).")
    max_user_turns: int | None = _native_turns("TRIM, SUMMARIZE: act once the conversation has more turns than this")
    keep_last_turns: int | None = _native_turns("TRIM, SUMMARIZE: the last turns kept whole")
    compact_trigger_turns: int | None = _native_turns("COMPACT: act once the conversation has more turns than this")
    compact_keep: int | None = _native_turns("COMPACT: the last turns whose tool items are left as they are")
    clear_tool_inputs: bool | None = strawberry.field(
        default=strawberry.UNSET, description="COMPACT: replace tool-call arguments too."
    )
    memory_injection: bool | None = strawberry.field(default=strawberry.UNSET, description="Stored and reported.")


@strawberry.type(description="The answer of `updateConversationMemory`.")
class UpdateConversationMemoryPayload:
    conversation_id: strawberry.Private[uuid.UUID | None] = None
    memory: ConversationMemory | None = strawberry.field(default=None, description="The strategy after the change.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list)

    @strawberry.field(description="The conversation.")
    async def conversation(self, info: strawberry.Info) -> ConversationNode | None:
        return await load_conversation(info, self.conversation_id)


@strawberry.interface(description="What every update of a conversation carries: its metadata after the change.")
class ConversationUpdate:
    conversation_uuid: strawberry.Private[uuid.UUID]
    display_name: str | None = strawberry.field(description="Its title.")
    message_count: int = strawberry.field(description="How many messages it has.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="The conversation's global id.")
    def conversation_id(self) -> strawberry.ID:
        return strawberry.ID(str(graph.GlobalID("Conversation", str(self.conversation_uuid))))

    @strawberry.field(description="The conversation as it is now; null once deleted.")
    async def conversation(self, info: strawberry.Info) -> ConversationNode | None:
        return await load_conversation(info, self.conversation_uuid)


@strawberry.type(description="The conversation as it was when the subscription started (always the first update).")
class ConversationSnapshot(ConversationUpdate):
    pass


@strawberry.type(description="A turn started: the user's message is in the conversation.")
class ConversationTurnStarted(ConversationUpdate):
    pass


@strawberry.type(description="A turn ended: its answer is in the conversation, or it failed.")
class ConversationTurnFinished(ConversationUpdate):
    turn_status: TurnStatus = strawberry.field(description="How the turn ended.")


@strawberry.type(description="The conversation's memory strategy changed (`Conversation.memory`).")
class ConversationMemoryUpdated(ConversationUpdate):
    pass


@strawberry.type(description="The conversation was deleted: the last update of its stream.")
class ConversationDeleted(ConversationUpdate):
    @strawberry.field(description="Null: the conversation is gone.")
    async def conversation(self, info: strawberry.Info) -> ConversationNode | None:
        return None


ConversationUpdateEvent = Annotated[
    ConversationSnapshot
    | ConversationTurnStarted
    | ConversationTurnFinished
    | ConversationMemoryUpdated
    | ConversationDeleted,
    strawberry.union("ConversationUpdateEvent", description="One update of a conversation's metadata."),
]
_UPDATES: dict[str, Callable[..., ConversationUpdateEvent]] = {
    "snapshot": ConversationSnapshot,
    "turn_started": ConversationTurnStarted,
    "turn_finished": ConversationTurnFinished,
    "memory_updated": ConversationMemoryUpdated,
    "deleted": ConversationDeleted,
}


def update_event(update: dict[str, Any]) -> ConversationUpdateEvent:
    """An update as `domain/chat/conversations.conversation_updates` yields it."""
    fields: dict[str, Any] = {
        "conversation_uuid": uuid.UUID(update["conversation_id"]),
        "display_name": update.get("display_name"),
        "message_count": update["message_count"],
        "updated_at": datetime.fromisoformat(update["updated_at"]),
    }
    if update["reason"] == "turn_finished":
        return ConversationTurnFinished(turn_status=TurnStatus(update["turn_status"]), **fields)
    return _UPDATES[update["reason"]](**fields)


def _located(error: DomainError, field: list[str]) -> DomainError:
    """`error` placed at `field` when it names none (a NOT_FOUND of the id looked up)."""
    if not error.details:
        error.details = [{"loc": field, "msg": error.message}]
    return error


async def _chat_request(info: strawberry.Info, input: SendMessageInput) -> rc.ChatRequest:
    """The domain's request for a native input: the conversation's global id unwrapped (a foreign
    or missing one, and an unknown agent key, are the user's to correct)."""
    conversation_id = None
    if input.conversation_id is not None:
        cid = conversation_uuid(info, input.conversation_id)
        known = await rv.find_conversations(info.context, [cid]) if cid is not None else {}
        if cid is None or cid not in known:
            raise NotFound(
                "Conversation not found.",
                details=[{"loc": ["input", "conversationId"], "msg": "no conversation of yours has this id"}],
            )
        conversation_id = str(cid)
    if input.agent is not None and input.agent not in SPECS:
        raise NotFound(
            f"Agent '{input.agent}' not found",
            details=[{"loc": ["input", "agent"], "msg": f"no agent has the key '{input.agent}'"}],
        )
    policy = input.handoff_context_policy
    options = {"handoff_context_policy": policy.value} if policy is not None else None
    return rc.ChatRequest(input.message, conversation_id, input.agent, options)


def _native_key(input: SendMessageInput, request: rc.ChatRequest) -> ri.Idempotency:
    """The input's key, guarding what the request asks (fingerprinted as the REST body's
    `ChatInput` is, so a key sent over REST and here names one operation)."""
    legacy = ChatInput(
        message=request.message,
        conversation_id=request.conversation_id,
        agent_type=request.agent_type,
        run_options=JSON(request.run_options) if request.run_options is not None else None,
    )
    return ri.Idempotency(input.idempotency_key, {"input": legacy}, field="input.idempotencyKey")


@strawberry.type
class Query:
    @strawberry.field(extensions=TOOLS, description="The agents of the catalog, by display name.")
    async def agents(
        self,
        filter: AgentFilter | None = None,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
    ) -> graph.Connection[Agent]:
        search = filter.search if filter else None

        async def fetch(offset: int, limit: int) -> Page[AgentSpec]:
            return ra.agent_page(offset, limit, search)

        return await graph.paginate(fetch, Agent.from_spec, first=first, after=after, last=last, before=before)

    @strawberry.field(extensions=TOOLS, description="The agent with this key, or null (NOT_FOUND).")
    def agent(self, key: str) -> Agent | None:
        return Agent.from_spec(ra.find_agent(key))

    @strawberry.field(extensions=TOOLS, description="The tools the agents use, by name.")
    async def tools(self, first: graph.First = None, after: graph.After = None) -> graph.Connection[Tool]:
        async def fetch(offset: int, limit: int) -> Page[ra.ToolEntry]:
            return ra.tool_page(offset, limit)

        return await graph.paginate(fetch, Tool.from_entry, first=first, after=after)

    @strawberry.field(extensions=READ, description="This tenant's conversations, most recently active first.")
    async def conversations(
        self,
        info: strawberry.Info,
        filter: ConversationFilter | None = None,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
    ) -> graph.Connection[ConversationNode]:
        agent = filter.agent if filter else None
        return await graph.paginate(
            lambda offset, limit: rv.conversation_page(info.context, offset, limit, agent),
            ConversationNode.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(extensions=READ, description="The conversation with this id, or null (NOT_FOUND).")
    async def conversation(self, info: strawberry.Info, id: strawberry.ID) -> ConversationNode | None:
        cid = conversation_uuid(info, id)
        if cid is None:
            raise NotFound("Conversation not found.")
        return ConversationNode.from_row(await rv.get_conversation(info.context, cid))

    @strawberry.field(
        extensions=READ,
        description="Full-text search of this tenant's messages: the matching conversations, best first "
        "(BM25 on SQLite, ts_rank on PostgreSQL).",
    )
    async def search_conversations(
        self, info: strawberry.Info, query: str, first: SearchFirst = None, after: graph.After = None
    ) -> graph.Connection[ConversationSearchHit]:
        return await graph.paginate(
            lambda offset, limit: rv.search_page(info.context, query, offset, limit),
            lambda hit: ConversationSearchHit(hit=hit),
            first=first,
            after=after,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=WRITE,
        description="Send a message and wait for the agent's whole answer (the turn streams to `chatEvents` "
        "readers meanwhile). Rate limits and the plan's usage limit are top-level errors (RATE_LIMITED).",
    )
    async def send_message(self, info: strawberry.Info, input: SendMessageInput) -> SendMessagePayload:
        async def action() -> dict[str, Any]:
            request = await _chat_request(info, input)
            answer = await rc.chat(info.context, request, _native_key(input, request))
            meta = answer.metadata or {}
            usage = meta.get("usage")
            return {
                "conversation_id": uuid.UUID(answer.conversation_id),
                "agent_key": answer.agent_used,
                "response": answer.response,
                "handoff_occurred": answer.handoff_occurred,
                "stream_id": meta.get("stream_id"),
                "status": TurnStatus(meta["status"]) if meta.get("status") else None,
                "usage": StreamUsage(**usage) if isinstance(usage, dict) else None,
            }

        return await graph.payload(SendMessagePayload, action())

    @strawberry.mutation(
        extensions=WRITE, description="Send a message and return at once; read the answer from `chatEvents`."
    )
    async def start_chat(self, info: strawberry.Info, input: StartChatInput) -> StartChatPayload:
        async def action() -> dict[str, Any]:
            request = await _chat_request(info, input)
            turn = await rc.start_chat(info.context, request, _native_key(input, request))
            return {"conversation_id": turn.conversation_id, "agent_key": turn.agent.key, "stream_id": turn.stream_id}

        return await graph.payload(StartChatPayload, action())

    @strawberry.mutation(
        extensions=allow(Scope("conversations:delete"), TenantRole("admin")),
        description="Delete a conversation with its messages and ledger.",
    )
    async def delete_conversation(
        self, info: strawberry.Info, input: DeleteConversationInput
    ) -> DeleteConversationPayload:
        async def action() -> dict[str, Any]:
            cid = conversation_uuid(info, input.id)
            if cid is None:
                raise NotFound("Conversation not found.")
            await rv.delete_conversation(info.context, str(cid))
            return {"deleted_conversation_id": input.id}

        async def located() -> dict[str, Any]:
            try:
                return await action()
            except NotFound as error:
                error.details = [{"loc": ["input", "id"], "msg": error.message}]
                raise

        return await graph.payload(DeleteConversationPayload, located())

    @strawberry.mutation(
        extensions=MEMORY_WRITE,
        description="Set the memory strategy of a conversation: what of its history the model is sent from its "
        "next turn on. Fields left out keep their value; null clears one.",
    )
    async def update_conversation_memory(
        self, info: strawberry.Info, input: UpdateConversationMemoryInput
    ) -> UpdateConversationMemoryPayload:
        async def action() -> dict[str, Any]:
            cid = conversation_uuid(info, input.id)
            try:
                if cid is None:
                    raise NotFound("Conversation not found.")
                changes = _changes(input, MEMORY_FIELDS)
                config = await rv.update_memory(info.context, str(cid), changes, prefix="input.")
            except NotFound as error:
                raise _located(error, ["input", "id"]) from None
            return {"conversation_id": cid, "memory": ConversationMemory(config=config)}

        return await graph.payload(UpdateConversationMemoryPayload, action())


@strawberry.type
class Subscription:
    @strawberry.subscription(
        extensions=WRITE,
        description="Send a message and stream the turn's events, to the `final` (or `error`) event.",
    )
    async def chat_stream(self, info: strawberry.Info, input: SendMessageInput) -> AsyncGenerator[StreamEvent, None]:
        request = await _chat_request(info, input)
        async for event in rc.chat_stream(info.context, request, _native_key(input, request)):
            yield to_event(event)

    @strawberry.subscription(
        extensions=READ,
        description="A turn's events (of `startChat` or `chatStream`) after `afterEventId`: 0 for all, "
        "the last `eventId` seen to resume.",
    )
    async def chat_events(
        self, info: strawberry.Info, stream_id: str, after_event_id: int = 0
    ) -> AsyncGenerator[StreamEvent, None]:
        async for event in rc.turn_events(info.context, stream_id, after_event_id):
            yield to_event(event)

    @strawberry.subscription(
        extensions=READ,
        description="A conversation's title and message count: now (`ConversationSnapshot`), then after every "
        "change (a turn starting or ending, its memory strategy), until it is deleted (`ConversationDeleted`, "
        "the last update).",
    )
    async def conversation_updates(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> AsyncGenerator[ConversationUpdateEvent, None]:
        cid = conversation_uuid(info, id)
        if cid is None:
            raise NotFound("Conversation not found.")
        async for update in rv.conversation_updates(info.context, str(cid)):
            yield update_event(update)
