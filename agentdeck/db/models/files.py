"""Stored objects, vector stores with their files and chunks, and code-interpreter containers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned, Timestamps


class StorageObject(TenantOwned, Timestamps, Base):
    """An object in the storage provider; `pending_upload` until its bytes are seen."""

    __tablename__ = "storage_objects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bucket: Mapped[str] = mapped_column(String(128))
    object_key: Mapped[str] = mapped_column(String(512))
    filename: Mapped[str] = mapped_column(String(256))
    mime_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), default="pending_upload")
    owner_user_id: Mapped[uuid.UUID | None]
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    agent_key: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class VectorStore(TenantOwned, Timestamps, Base):
    __tablename__ = "vector_stores"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    openai_id: Mapped[str] = mapped_column(String(128))
    owner_user_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="completed")
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # BM25 statistics (N and total length), kept with the store so a search need not count.
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)
    token_count: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None]
    last_active_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class VectorStoreFile(TenantOwned, Timestamps, Base):
    __tablename__ = "vector_store_files"
    __table_args__ = (UniqueConstraint("vector_store_id", "openai_file_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    vector_store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vector_stores.id", ondelete="CASCADE"), index=True)
    openai_file_id: Mapped[str] = mapped_column(String(128))
    object_id: Mapped[uuid.UUID | None]
    filename: Mapped[str] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(32), default="in_progress")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chunking_strategy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)


class VectorChunk(TenantOwned, Base):
    """A chunk of extracted text. The full-text index over `text` is per dialect (migration
    0011): an FTS5 table on SQLite, a generated `tsv` column with a GIN index on PostgreSQL."""

    __tablename__ = "vector_chunks"

    # An integer key: FTS5 external-content tables address rows by integer rowid.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vector_store_id: Mapped[uuid.UUID] = mapped_column(index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vector_store_files.id", ondelete="CASCADE"), index=True)
    chunk_index: Mapped[int]
    token_count: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    # float32, L2-normalised; only when OpenAI embeddings are configured.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class Container(TenantOwned, Timestamps, Base):
    __tablename__ = "containers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    openai_id: Mapped[str] = mapped_column(String(128))
    owner_user_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(128))
    memory_limit: Mapped[str] = mapped_column(String(8), default="1g")
    status: Mapped[str] = mapped_column(String(32), default="running")
    expires_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_active_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class AgentContainer(TenantOwned, Timestamps, Base):
    """Which container an agent of a tenant runs its code interpreter in (one per agent)."""

    __tablename__ = "agent_containers"
    __table_args__ = (UniqueConstraint("tenant_id", "agent_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_key: Mapped[str] = mapped_column(String(64))
    container_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("containers.id", ondelete="CASCADE"), index=True)


class AgentVectorStore(TenantOwned, Timestamps, Base):
    """A vector store an agent of a tenant searches with its file-search tool (an agent may
    search several stores, a store may serve several agents; each pair once)."""

    __tablename__ = "agent_vector_stores"
    __table_args__ = (UniqueConstraint("tenant_id", "agent_key", "vector_store_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_key: Mapped[str] = mapped_column(String(64))
    vector_store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vector_stores.id", ondelete="CASCADE"), index=True)
