"""The chat domain's native graph: agents, tools, conversations, their messages and ledger events
as Nodes and connections (docs/graphql.md). The roots that serve them are in `schema/chat.py`.

Agents and tools are catalog data (in memory): their global ids wrap their keys, and `databaseId`
is that key. Conversations and messages are the tenant's rows: their ids wrap UUIDs, and every
read goes through `domain/chat/conversations.py`, so another tenant's id resolves to null.
Nested reads batch through per-request DataLoaders: a page of conversations with each one's agent
(and its usage) and last message costs one statement per relation, whatever the page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db.models import Conversation as ConversationRow
from agentdeck.db.models import ConversationEvent as ConversationEventRow
from agentdeck.db.models import ConversationMessage as MessageRow
from agentdeck.domain.agents import directory as ra
from agentdeck.domain.agents.memory import MemoryConfig
from agentdeck.domain.agents.search import SearchHit
from agentdeck.domain.catalog import SPECS, AgentSpec
from agentdeck.domain.catalog.guardrails import PRESETS
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.common import access
from agentdeck.domain.common.results import Page
from agentdeck.errors import NotFound
from agentdeck.schema import graph
from agentdeck.schema.guardrails import ConfiguredGuardrail, GuardrailPreset, agent_guardrails
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Scope, TenantRole, allow
from agentdeck.schema.vector_stores import VectorStoreNode, stores_of_agent

READ = allow(Scope("conversations:read"), TenantRole("viewer"))
READ_SCOPE = "conversations:read"


# -- enums --------------------------------------------------------------------------------------


@strawberry.enum(description="Whether an agent takes conversations.")
class AgentAvailability(Enum):
    ACTIVE = "active"


@strawberry.enum(description="Who runs a tool: the platform itself, or the model's provider.")
class ToolKind(Enum):
    FUNCTION = "function"
    HOSTED = "hosted"


@strawberry.enum(description="A conversation's state.")
class ConversationStatus(Enum):
    ACTIVE = "active"


_STATUSES = {member.value: member for member in ConversationStatus}


@strawberry.enum(description="Who wrote a message or a ledger item.")
class MessageRole(Enum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    SYSTEM = "system"


@strawberry.enum(description="What a tool is for.")
class ToolCategory(Enum):
    UTILITY = "utility"
    KNOWLEDGE = "knowledge"
    WEB = "web"
    CODE = "code"
    MEDIA = "media"
    OTHER = "other"


@strawberry.enum(description="What a ledger item of a conversation records.")
class RunItemType(Enum):
    MESSAGE = "message"
    TOOL_CALL = "tool_call"
    TOOL_OUTPUT = "tool_output"
    HANDOFF = "handoff"


@strawberry.enum(description="How a chat turn ended (RUNNING while it has not).")
class TurnStatus(Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    REFUSED = strawberry.enum_value("refused", description="A guardrail refused the turn; the answer is its refusal.")


@strawberry.enum(description="How much of the conversation an agent taking over (a handoff) sees.")
class HandoffContextPolicy(Enum):
    FULL = "full"
    FRESH = "fresh"
    LAST_TURN = "last_turn"


@strawberry.enum(description="How much of a conversation's history the model is sent (see `Conversation.memory`).")
class MemoryMode(Enum):
    NONE = "none"
    TRIM = "trim"
    SUMMARIZE = "summarize"
    COMPACT = "compact"


@strawberry.type(description="A conversation's memory strategy: what of its history the model is sent each turn.")
class ConversationMemory:
    config: strawberry.Private[MemoryConfig]

    @strawberry.field(description="The strategy; null (unset) sends the history as NONE does.")
    def mode(self) -> MemoryMode | None:
        return MemoryMode(self.config.mode) if self.config.mode else None

    @strawberry.field(description="TRIM, SUMMARIZE: act once the conversation has more turns than this.")
    def max_user_turns(self) -> int | None:
        return self.config.max_user_turns

    @strawberry.field(description="TRIM, SUMMARIZE: the last turns kept whole (TRIM: `maxUserTurns` if unset).")
    def keep_last_turns(self) -> int | None:
        return self.config.keep_last_turns

    @strawberry.field(description="COMPACT: act once the conversation has more turns than this.")
    def compact_trigger_turns(self) -> int | None:
        return self.config.compact_trigger_turns

    @strawberry.field(description="COMPACT: the last turns whose tool items are left as they are (2 if unset).")
    def compact_keep(self) -> int | None:
        return self.config.compact_keep

    @strawberry.field(description="COMPACT: replace tool-call arguments too, not only tool outputs.")
    def clear_tool_inputs(self) -> bool | None:
        return self.config.clear_tool_inputs

    @strawberry.field(description="Stored and reported; it changes nothing yet.")
    def memory_injection(self) -> bool | None:
        return self.config.memory_injection


# -- loaders: one statement per relation for a whole page -------------------------------------


def _usage_loader(info: strawberry.Info) -> Any:
    async def batch(keys: list[str]) -> list[ra.AgentUsage | None]:
        found = await ra.agent_usages(info.context, keys)
        return [found.get(k) for k in keys]

    return graph.loader(info, "chat.agent_usage", batch)


def _conversation_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[ConversationRow | None]:
        found = await rv.find_conversations(info.context, list(dict.fromkeys(ids)))
        return [found.get(i) for i in ids]

    return graph.loader(info, "chat.conversation", batch)


def _last_message_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[MessageRow | None]:
        found = await rv.last_messages(info.context, list(dict.fromkeys(ids)))
        return [found.get(i) for i in ids]

    return graph.loader(info, "chat.last_message", batch)


def _windowed(info: strawberry.Info, name: str, read: Any) -> Any:
    """A loader of child pages keyed (conversation, filter, offset, limit): the conversations of
    one page that ask for the same window share `read`'s two statements."""

    async def batch(keys: list[tuple[uuid.UUID, Any, int, int]]) -> list[Page[Any]]:
        windows: dict[tuple[Any, int, int], list[uuid.UUID]] = {}
        for cid, narrow, offset, limit in keys:
            windows.setdefault((narrow, offset, limit), []).append(cid)
        found = {}
        for (narrow, offset, limit), ids in windows.items():
            pages = await read(info.context, list(dict.fromkeys(ids)), narrow, offset, limit)
            found.update({(cid, narrow, offset, limit): page for cid, page in pages.items()})
        return [found[k] for k in keys]

    return graph.loader(info, name, batch)


def _message_pages(info: strawberry.Info) -> Any:
    async def read(ctx: Any, ids: list[uuid.UUID], _narrow: None, offset: int, limit: int) -> Any:
        return await rv.message_pages(ctx, ids, offset, limit)

    return _windowed(info, "chat.message_pages", read)


def _event_pages(info: strawberry.Info) -> Any:
    return _windowed(info, "chat.event_pages", rv.event_pages)


def agent_node(key: str | None) -> Agent | None:
    """The catalog's agent with this key as a node: the catalog is in memory, so no loader and no
    await (an edge to an agent is a plain attribute or a synchronous field). One node per agent,
    shared: it only restates its spec."""
    spec = SPECS.get(key) if key else None
    if spec is None:
        return None
    node = _AGENT_NODES.get(spec.key)
    if node is None or node.spec is not spec:
        node = _AGENT_NODES[spec.key] = Agent.from_spec(spec)
    return node


_AGENT_NODES: dict[str, Agent] = {}


async def load_conversation(info: strawberry.Info, conversation_id: uuid.UUID | None) -> Conversation | None:
    if conversation_id is None:
        return None
    row = await _conversation_loader(info).load(conversation_id)
    return Conversation.from_row(row) if row is not None else None


# -- agents and tools ---------------------------------------------------------------------------


# Shared with the legacy REST shapes (`agentStatus`, `agents`): a description would show in
# openapi.json, which the REST face documents unchanged.
@strawberry.type
class AgentToolingFlags:
    supports_code_interpreter: bool
    supports_file_search: bool
    supports_image_generation: bool
    supports_web_search: bool

    @classmethod
    def from_spec(cls, spec: AgentSpec) -> AgentToolingFlags:
        return cls(**spec.tooling)


@strawberry.type(description="A tool an agent may call.")
class Tool(graph.Node):
    name_key: relay.NodeID[str]
    entry: strawberry.Private[ra.ToolEntry]

    @classmethod
    def from_entry(cls, entry: ra.ToolEntry) -> Tool:
        return cls(name_key=entry.name, entry=entry)

    @strawberry.field(description="The tool's name (its key in the catalog).")
    def database_id(self) -> str:
        return self.entry.name

    @strawberry.field(description="The tool's name, as models call it.")
    def name(self) -> str:
        return self.entry.name

    @strawberry.field(description="Who runs the tool.")
    def kind(self) -> ToolKind:
        return ToolKind(self.entry.kind)

    @strawberry.field(description="What the tool is for.")
    def category(self) -> ToolCategory:
        return ToolCategory(self.entry.category)

    @strawberry.field(description="What the tool does, as the model is told (function tools only).")
    def description(self) -> str | None:
        return self.entry.description

    @strawberry.field(description="The agents that use this tool.")
    def agents(self) -> graph.Connection[Agent]:
        return graph.connection_of([Agent.from_spec(SPECS[k]) for k in self.entry.agents])

    @classmethod
    def load_nodes(cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False) -> list[Tool | None]:
        access.require_scope(info.context, "tools:read")
        return graph.catalog_nodes(node_ids, ra.find_tool, cls.from_entry, required, "Tool")


@strawberry.type(description="An agent of the catalog: what it does, its tools, and its use in this tenant.")
class Agent(graph.Node):
    agent_key: relay.NodeID[str]
    spec: strawberry.Private[AgentSpec]
    # Plain attributes (read directly by the executor): an agent is on every conversation of a page.
    database_id: str = strawberry.field(description="The agent's key (as `key`).")
    key: str = strawberry.field(description="The agent's key, which chat inputs and filters take.")
    display_name: str = strawberry.field(description="Its name for people.")
    description: str = strawberry.field(description="What it does.")
    model: str | None = strawberry.field(description="The model it runs on; null: the platform's default model.")
    status: AgentAvailability = strawberry.field(description="Whether it takes conversations.")

    @classmethod
    def from_spec(cls, spec: AgentSpec) -> Agent:
        return cls(
            agent_key=spec.key,
            spec=spec,
            database_id=spec.key,
            key=spec.key,
            display_name=spec.display_name,
            description=spec.description,
            model=spec.model,
            status=AgentAvailability.ACTIVE,
        )

    @strawberry.field(description="The JSON Schema of its structured answers, if it gives such.")
    def output_schema(self) -> JSON | None:
        return JSON(self.spec.output_schema) if self.spec.output_schema is not None else None

    @strawberry.field(description="Which kinds of hosted tools it uses.")
    def tooling(self) -> AgentToolingFlags:
        return AgentToolingFlags.from_spec(self.spec)

    @strawberry.field(description="The tools it may call.")
    def tools(self) -> graph.Connection[Tool]:
        entries = {t.name: t for t in ra.tool_entries()}
        return graph.connection_of([Tool.from_entry(entries[n]) for n in sorted(set(self.spec.tools))])

    @strawberry.field(description="The guardrail preset its turns run; null: none.")
    def guardrail_preset(self) -> GuardrailPreset | None:
        preset = self.spec.guardrail_preset
        return GuardrailPreset.from_preset(PRESETS[preset]) if preset else None

    @strawberry.field(description="The guardrails its turns run (its preset's enabled ones and its own), configured.")
    def guardrails(self) -> graph.Connection[ConfiguredGuardrail]:
        return graph.connection_of(agent_guardrails(self.spec))

    @strawberry.field(description="The agents it may hand a conversation to.")
    def handoffs(self) -> graph.Connection[Agent]:
        return graph.connection_of([Agent.from_spec(SPECS[h.agent]) for h in self.spec.handoffs])

    @strawberry.field(
        extensions=allow(TenantRole("viewer")),
        description="This tenant's vector stores its file search searches (bound with `bindVectorStore`), by name.",
    )
    async def vector_stores(self, info: strawberry.Info) -> graph.Connection[VectorStoreNode]:
        return await stores_of_agent(info, self.spec.key)

    @strawberry.field(description="When this tenant's latest conversation with it was active.")
    async def last_used_at(self, info: strawberry.Info) -> datetime | None:
        usage = await _usage_loader(info).load(self.spec.key)
        return usage.last_used if usage else None

    @strawberry.field(description="How many conversations this tenant started with it.")
    async def total_conversations(self, info: strawberry.Info) -> int:
        usage = await _usage_loader(info).load(self.spec.key)
        return usage.conversations if usage else 0

    @strawberry.field(extensions=READ, description="This tenant's conversations started with it, newest first.")
    async def conversations(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[Conversation]:
        key = self.spec.key
        return await graph.paginate(
            lambda offset, limit: rv.conversation_page(info.context, offset, limit, key),
            Conversation.from_row,
            first=first,
            after=after,
        )

    @classmethod
    def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Agent | None]:
        access.require_scope(info.context, "tools:read")
        return graph.catalog_nodes(node_ids, SPECS.get, cls.from_spec, required, "Agent")


# -- conversations, messages, ledger events -----------------------------------------------------


@strawberry.type(description="A file attached to a message.")
class MessageAttachment:
    object_id: uuid.UUID | None = strawberry.field(description="The stored object's id.")
    kind: str | None = strawberry.field(description="What the file is to the message (as its sender said).")

    @classmethod
    def from_json(cls, value: Any) -> MessageAttachment:
        value = value if isinstance(value, dict) else {}
        raw = value.get("object_id")
        try:
            object_id = uuid.UUID(str(raw)) if raw is not None else None
        except ValueError:
            object_id = None
        return cls(object_id=object_id, kind=value.get("kind"))


@strawberry.type(description="One message of a conversation.")
class Message(graph.Node):
    uid: relay.NodeID[str]
    row: strawberry.Private[MessageRow]
    database_id: uuid.UUID  # plain attributes: the executor reads them directly
    role: MessageRole
    content: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: MessageRow) -> Message:
        return cls(
            uid=str(row.id),
            row=row,
            database_id=row.id,
            role=MessageRole(row.role),
            content=row.content,
            created_at=row.created_at,
        )

    @strawberry.field
    def attachments(self) -> list[MessageAttachment]:
        return [MessageAttachment.from_json(a) for a in self.row.attachments or []]

    @strawberry.field(description="The agent that wrote it (assistant messages).")
    def agent(self) -> Agent | None:
        return agent_node(self.row.agent)

    @strawberry.field
    async def conversation(self, info: strawberry.Info) -> Conversation | None:
        return await load_conversation(info, self.row.conversation_id)

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Message | None]:
        access.require_scope(info.context, READ_SCOPE)
        ids = graph.uuids(node_ids)
        found = await rv.find_messages(info.context, [i for i in ids if i is not None])
        out = [cls.from_row(found[i]) if i in found else None for i in ids]
        if required and None in out:
            raise NotFound("Message not found.")
        return out


@strawberry.type(description="One item of a conversation's durable ledger: a message, tool call, output or handoff.")
class ConversationEvent:
    row: strawberry.Private[ConversationEventRow]

    @strawberry.field(description="Its position in the conversation (1, 2, ...).")
    def sequence_number(self) -> int:
        return self.row.sequence_no

    @strawberry.field
    def type(self) -> RunItemType:
        return RunItemType(self.row.run_item_type)

    @strawberry.field(description="The item's name within its type (e.g. `user_input`).")
    def name(self) -> str | None:
        return self.row.run_item_name

    @strawberry.field
    def role(self) -> MessageRole | None:
        return MessageRole(self.row.role) if self.row.role else None

    @strawberry.field
    def agent(self) -> Agent | None:
        return agent_node(self.row.agent)

    @strawberry.field
    def tool_call_id(self) -> str | None:
        return self.row.tool_call_id

    @strawberry.field
    def tool_name(self) -> str | None:
        return self.row.tool_name

    @strawberry.field
    def model(self) -> str | None:
        return self.row.model

    @strawberry.field
    def content_text(self) -> str | None:
        return self.row.content_text

    @strawberry.field
    def reasoning_text(self) -> str | None:
        return self.row.reasoning_text

    @strawberry.field(description="A tool call's arguments (free-form: each tool has its own).")
    def call_arguments(self) -> JSON | None:
        return JSON(self.row.call_arguments) if self.row.call_arguments is not None else None

    @strawberry.field(description="A tool's output (free-form: each tool has its own).")
    def call_output(self) -> JSON | None:
        return JSON(self.row.call_output) if self.row.call_output is not None else None

    @strawberry.field
    def attachments(self) -> list[MessageAttachment]:
        return [MessageAttachment.from_json(a) for a in self.row.attachments or []]

    @strawberry.field(description="The provider's response id.")
    def response_id(self) -> str | None:
        return self.row.response_id

    @strawberry.field(description="The workflow run that wrote it, if one did (its database id).")
    def workflow_run_id(self) -> str | None:
        return self.row.workflow_run_id

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.input(description="Which ledger events to list.")
class ConversationEventFilter:
    workflow_run_id: str | None = strawberry.field(
        default=None, description="Only those of this workflow run (its database id)."
    )


@strawberry.type(description="A conversation of this tenant with an agent.")
class Conversation(graph.Node):
    uid: relay.NodeID[str]
    row: strawberry.Private[ConversationRow]
    # Plain attributes, not resolvers: the executor reads them directly (schema/executor.py), which
    # on a page of 50 is most of the page's cost.
    database_id: uuid.UUID
    display_name: str | None = strawberry.field(description="Its title (the start of its first message).")
    status: ConversationStatus
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_message_preview: str | None = strawberry.field(
        description="The start of its newest message, kept with the conversation (`lastMessage` reads the "
        "whole message)."
    )

    @classmethod
    def from_row(cls, row: ConversationRow) -> Conversation:
        status = _STATUSES.get(row.status)  # an Enum call was a fifth of this, on a page of 50
        return cls(
            uid=str(row.id),
            row=row,
            database_id=row.id,
            display_name=row.display_name,
            status=status if status is not None else ConversationStatus(row.status),
            message_count=row.message_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_message_preview=row.last_message_preview or None,
            agent=agent_node(row.agent_entrypoint),
            active_agent=agent_node(row.active_agent),
        )

    @strawberry.field(description="Its memory strategy (`updateConversationMemory` sets it).")
    def memory(self) -> ConversationMemory:
        return ConversationMemory(config=MemoryConfig.of(self.row))

    # Plain attributes too: the catalog's shared nodes (see `agent_node`).
    agent: Agent | None = strawberry.field(description="The agent it was started with.")
    active_agent: Agent | None = strawberry.field(description="The agent answering now (another one after a handoff).")

    @strawberry.field(description="Its newest message.")
    async def last_message(self, info: strawberry.Info) -> Message | None:
        row = await _last_message_loader(info).load(self.row.id)
        return Message.from_row(row) if row is not None else None

    @strawberry.field(description="Its messages, oldest first (`last: n` for the newest n).")
    async def messages(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
    ) -> graph.Connection[Message]:
        cid, pages = self.row.id, _message_pages(info)
        return await graph.paginate(
            lambda offset, limit: pages.load((cid, None, offset, limit)),
            Message.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Its durable ledger of run items, in sequence order.")
    async def events(
        self,
        info: strawberry.Info,
        filter: ConversationEventFilter | None = None,
        first: graph.First = None,
        after: graph.After = None,
    ) -> graph.Connection[ConversationEvent]:
        cid, run, pages = self.row.id, filter.workflow_run_id if filter else None, _event_pages(info)
        return await graph.paginate(
            lambda offset, limit: pages.load((cid, run, offset, limit)),
            lambda row: ConversationEvent(row=row),
            first=first,
            after=after,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Conversation | None]:
        access.require_scope(info.context, READ_SCOPE)
        ids = graph.uuids(node_ids)
        found = await rv.find_conversations(info.context, [i for i in ids if i is not None])
        out = [cls.from_row(found[i]) if i in found else None for i in ids]
        if required and None in out:
            raise NotFound("Conversation not found.")
        return out


@strawberry.type(description="A conversation matching a search, with its best-matching message.")
class ConversationSearchHit:
    hit: strawberry.Private[SearchHit]

    @strawberry.field
    def conversation(self) -> Conversation:
        return Conversation.from_row(self.hit.conversation)

    @strawberry.field(description="The start of its best-matching message.")
    def snippet(self) -> str:
        return self.hit.preview

    @strawberry.field(description="How well it matches (higher is better: BM25 on SQLite, ts_rank on PostgreSQL).")
    def score(self) -> float:
        return self.hit.score


@strawberry.input(description="Which agents to list.")
class AgentFilter:
    search: str | None = strawberry.field(
        default=None, description="Only those with this text in their key, name or description."
    )


@strawberry.input(description="Which conversations to list.")
class ConversationFilter:
    agent: str | None = strawberry.field(default=None, description="Only those started with this agent (its key).")


def conversation_uuid(info: strawberry.Info, global_id: str) -> uuid.UUID | None:
    """The UUID a `Conversation` global id wraps (None: not a conversation's id)."""
    return graph.node_uuid(global_id, "Conversation")


SearchFirst = Annotated[
    int | None,
    strawberry.argument(
        description="Returns the first n hits (1 to 50; 20 by default).", metadata=limited(rv.SEARCH_PAGE_SIZE)
    ),
]
