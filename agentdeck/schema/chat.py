from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from agentdeck.db.models import Conversation, ConversationEvent, ConversationMessage
from agentdeck.domain.agents import directory as ra
from agentdeck.domain.agents.search import SearchHit
from agentdeck.domain.catalog import AgentSpec
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.chat import turns as rc
from agentdeck.domain.common.results import CursorPage
from agentdeck.schema.chat_events import StreamEvent, to_event
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import PageSize, limited
from agentdeck.schema.permissions import Scope, TenantRole, allow

SearchPageSize = Annotated[int, strawberry.argument(metadata=limited(rv.SEARCH_PAGE_SIZE))]
READ = allow(Scope("conversations:read"), TenantRole("viewer"))
WRITE = allow(Scope("conversations:write"), TenantRole("viewer"))
TOOLS = allow(Scope("tools:read"))


@strawberry.type
class AgentToolingFlags:
    supports_code_interpreter: bool
    supports_file_search: bool
    supports_image_generation: bool
    supports_web_search: bool

    @classmethod
    def from_spec(cls, spec: AgentSpec) -> AgentToolingFlags:
        return cls(**spec.tooling)


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
    def from_row(cls, row: Conversation) -> ConversationSummary:
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
    def from_page(cls, page: CursorPage[Conversation]) -> ConversationPage:
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
class Query:
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


@strawberry.type
class Mutation:
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


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=WRITE, description="Send a message and stream the turn's events.")
    async def chat_stream(
        self, info: strawberry.Info, input: ChatInput, idempotency_key: IdempotencyKey = None
    ) -> AsyncGenerator[StreamEvent, None]:
        async for event in rc.chat_stream(info.context, _request(input), keyed(idempotency_key, input=input)):
            yield to_event(event)

    @strawberry.subscription(extensions=READ, description="A turn's events after `afterSeq` (resume).")
    async def chat_events(
        self, info: strawberry.Info, stream_id: str, after_seq: int = 0
    ) -> AsyncGenerator[StreamEvent, None]:
        async for event in rc.turn_events(info.context, stream_id, after_seq):
            yield to_event(event)
