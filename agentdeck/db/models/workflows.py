"""Workflow runs and their steps: each step's output is written as the step finishes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, utcnow


class WorkflowRun(TenantOwned, Base):
    __tablename__ = "workflow_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    workflow_key: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    stream_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)  # running|succeeded|failed|cancelled
    request_message: Mapped[str | None] = mapped_column(Text)
    final_output_text: Mapped[str | None] = mapped_column(Text)
    final_output_structured: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    # Touched by the process running the run; a running run whose heartbeat stops is failed.
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    terminal_event: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the stream's final/error event


class WorkflowRunStep(TenantOwned, Base):
    __tablename__ = "workflow_run_steps"
    __table_args__ = (UniqueConstraint("run_id", "sequence_no"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True)
    sequence_no: Mapped[int] = mapped_column(Integer)
    stage_name: Mapped[str] = mapped_column(String(64))
    step_name: Mapped[str] = mapped_column(String(64))
    agent_key: Mapped[str] = mapped_column(String(64))
    parallel_group: Mapped[str | None] = mapped_column(String(64))
    branch_index: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # completed | failed | incomplete | skipped
    response_text: Mapped[str | None] = mapped_column(Text)
    structured_output: Mapped[Any] = mapped_column(JSON, nullable=True)
    response_id: Mapped[str | None] = mapped_column(String(128))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
