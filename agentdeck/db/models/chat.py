"""Conversations, their messages, the durable event ledger, and chat runs (one per turn)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class Conversation(TenantOwned, Base):
    __tablename__ = "conversations"
    # The list's order within a tenant: a page reads the index instead of sorting every row.
    __table_args__ = (Index("ix_conversations_tenant_recent", "tenant_id", "updated_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agent_entrypoint: Mapped[str] = mapped_column(String(64))
    active_agent: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="active")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_preview: Mapped[str] = mapped_column(String(280), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The memory strategy applied to what the model is sent (domain/agents/memory.py); null = unset.
    memory_mode: Mapped[str | None] = mapped_column(String(16))
    memory_max_user_turns: Mapped[int | None] = mapped_column(Integer)
    memory_keep_last_turns: Mapped[int | None] = mapped_column(Integer)
    memory_compact_trigger_turns: Mapped[int | None] = mapped_column(Integer)
    memory_compact_keep: Mapped[int | None] = mapped_column(Integer)
    memory_clear_tool_inputs: Mapped[bool | None] = mapped_column()
    memory_injection: Mapped[bool | None] = mapped_column()


class ConversationMessage(TenantOwned, Base):
    __tablename__ = "conversation_messages"
    # A conversation's messages in order, and its latest one, from the index alone.
    __table_args__ = (Index("ix_conversation_messages_order", "conversation_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationEvent(TenantOwned, Base):
    """One run item (message, tool call, tool output, handoff) in conversation order."""

    __tablename__ = "conversation_events"
    __table_args__ = (UniqueConstraint("conversation_id", "sequence_no"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sequence_no: Mapped[int] = mapped_column(Integer)
    run_item_type: Mapped[str] = mapped_column(String(32))
    run_item_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(64))
    tool_call_id: Mapped[str | None] = mapped_column(String(128))
    tool_name: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    content_text: Mapped[str | None] = mapped_column(Text)
    reasoning_text: Mapped[str | None] = mapped_column(Text)
    call_arguments: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    call_output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    response_id: Mapped[str | None] = mapped_column(String(128))
    workflow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatRun(TenantOwned, Base):
    """One turn: its stream, outcome and token usage (what billing meters)."""

    __tablename__ = "chat_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stream_id: Mapped[str] = mapped_column(String(64), unique=True)
    agent: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        String(16), default="running", index=True
    )  # running|completed|failed|incomplete
    error: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None] = mapped_column()  # touched while its process runs it
    terminal_event: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the stream's final/error event
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
