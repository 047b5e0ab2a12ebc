from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from agentdeck.domain.agents import directory as ra
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.chat import turns as rc
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


@strawberry.type
class AgentSummary:
    name: str = strawberry.field(resolver=lambda root: root.key)
    status: str = strawberry.field(resolver=lambda: "active")
    output_schema: JSON | None
    display_name: str | None
    description: str | None
    model: str | None
    tooling: AgentToolingFlags = strawberry.field(resolver=lambda root: AgentToolingFlags(**root.tooling))
    last_seen_at: datetime | None = strawberry.field(resolver=lambda: None)


@strawberry.type
class AgentPage:
    items: list[AgentSummary]
    next_cursor: str | None
    total: int


@strawberry.type
class AgentStatus:
    name: str
    status: str
    output_schema: JSON | None
    last_used: datetime | None
    total_conversations: int
    tooling: AgentToolingFlags = strawberry.field(resolver=lambda root: AgentToolingFlags(**root.tooling))


@strawberry.type
class ToolCatalog:
    total_tools: int
    tool_names: list[str]
    categories: list[str]
    per_agent: JSON


@strawberry.type
class ConversationSummary:
    conversation_id: uuid.UUID = strawberry.field(resolver=lambda root: root.id)
    display_name: str | None
    agent_entrypoint: str | None
    active_agent: str | None
    topic_hint: str | None = strawberry.field(resolver=lambda: None)
    status: str | None
    message_count: int
    last_message_preview: str
    created_at: datetime
    updated_at: datetime


@strawberry.type
class ConversationPage:
    items: list[ConversationSummary]
    next_cursor: str | None


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


@strawberry.type
class ConversationSearchPage:
    items: list[ConversationSearchResult]
    next_cursor: str | None


@strawberry.type
class ChatMessage:
    message_id: str | None
    role: str
    content: str
    timestamp: datetime | None
    attachments: list[JSON]


@strawberry.type
class ConversationHistory:
    conversation_id: uuid.UUID
    display_name: str | None
    messages: list[ChatMessage]
    created_at: datetime
    updated_at: datetime
    agent_context: JSON | None


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
    timestamp: datetime = strawberry.field(resolver=lambda root: root.created_at)


@strawberry.type
class ConversationEvents:
    conversation_id: uuid.UUID
    items: list[ConversationEventItem]


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


@strawberry.type(description="A started turn: observe it with the `chatEvents` subscription.")
class ChatTurn:
    conversation_id: uuid.UUID
    stream_id: str
    agent: str = strawberry.field(resolver=lambda root: root.agent.key)


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
    return rc.ChatRequest(input.message, input.conversation_id, input.agent_type, input.context, options)


@strawberry.type
class Query:
    @strawberry.field(extensions=TOOLS, description="The agent catalog.")
    def agents(self, first: PageSize = 24, after: str | None = None, search: str | None = None) -> AgentPage:
        return ra.list_agents(first, after, search)  # type: ignore[return-value]

    @strawberry.field(extensions=TOOLS)
    async def agent_status(self, info: strawberry.Info, agent_name: str) -> AgentStatus:
        return await ra.agent_status(info.context, agent_name)  # type: ignore[return-value]

    @strawberry.field(extensions=TOOLS, description="Tools and which agents use them.")
    def tools(self) -> ToolCatalog:
        return ra.tool_catalog()  # type: ignore[return-value]

    @strawberry.field(extensions=READ)
    async def conversations(self, info: strawberry.Info, first: PageSize = 50, after: str | None = None,
                            agent: str | None = None) -> ConversationPage:
        return await rv.list_conversations(info.context, first, after, agent)  # type: ignore[return-value]

    @strawberry.field(extensions=READ, description="Full-text search (BM25 on SQLite, ts_rank on PostgreSQL).")
    async def search_conversations(self, info: strawberry.Info, q: str, first: SearchPageSize = 20, after: str | None = None,
                                   agent: str | None = None) -> ConversationSearchPage:
        return await rv.search_conversations(info.context, q, first, after, agent)  # type: ignore[return-value]

    @strawberry.field(extensions=READ)
    async def conversation(self, info: strawberry.Info, conversation_id: str) -> ConversationHistory:
        return await rv.get_history(info.context, conversation_id)  # type: ignore[return-value]

    @strawberry.field(extensions=READ, description="The conversation's durable run-item ledger.")
    async def conversation_events(self, info: strawberry.Info, conversation_id: str,
                                  workflow_run_id: str | None = None) -> ConversationEvents:
        return await rv.conversation_events(info.context, conversation_id, workflow_run_id)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Send a message and wait for the whole answer.")
    async def chat(self, info: strawberry.Info, input: ChatInput,
                   idempotency_key: IdempotencyKey = None) -> AgentChatResponse:
        return await rc.chat(info.context, _request(input), keyed(idempotency_key, input=input))  # type: ignore[return-value]

    @strawberry.mutation(extensions=WRITE, description="Start a turn; observe it with `chatEvents`.")
    async def start_chat(self, info: strawberry.Info, input: ChatInput, idempotency_key: IdempotencyKey = None) -> ChatTurn:
        return await rc.start_chat(info.context, _request(input), keyed(idempotency_key, input=input))  # type: ignore[return-value]

    @strawberry.mutation(extensions=allow(Scope("conversations:delete"), TenantRole("admin")))
    async def delete_conversation(self, info: strawberry.Info, conversation_id: str) -> bool:
        return await rv.delete_conversation(info.context, conversation_id)


@strawberry.type
class Subscription:
    @strawberry.subscription(extensions=WRITE, description="Send a message and stream the turn's events.")
    async def chat_stream(self, info: strawberry.Info, input: ChatInput,
                          idempotency_key: IdempotencyKey = None) -> AsyncGenerator[StreamEvent, None]:
        async for event in rc.chat_stream(info.context, _request(input), keyed(idempotency_key, input=input)):
            yield to_event(event)

    @strawberry.subscription(extensions=READ, description="A turn's events after `afterSeq` (resume).")
    async def chat_events(self, info: strawberry.Info, stream_id: str,
                          after_seq: int = 0) -> AsyncGenerator[StreamEvent, None]:
        async for event in rc.turn_events(info.context, stream_id, after_seq):
            yield to_event(event)
