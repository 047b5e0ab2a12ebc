"""storage objects, vector stores, containers

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
        ),
    ]


def _times() -> list:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "storage_objects",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("storage_objects"),
        sa.Column("bucket", sa.String(length=128), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("filename", sa.String(length=256), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("agent_key", sa.String(length=64), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_objects")),
    )
    op.create_index(op.f("ix_storage_objects_tenant_id"), "storage_objects", ["tenant_id"])
    op.create_index(op.f("ix_storage_objects_conversation_id"), "storage_objects", ["conversation_id"])
    op.create_table(
        "vector_stores",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("vector_stores"),
        sa.Column("openai_id", sa.String(length=128), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("usage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("chunk_count", sa.BigInteger(), nullable=False),
        sa.Column("token_count", sa.BigInteger(), nullable=False),
        sa.Column("expires_after", sa.JSON(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_active_at", UTCDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_stores")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_vector_stores_tenant_id")),
    )
    op.create_index(op.f("ix_vector_stores_tenant_id"), "vector_stores", ["tenant_id"])
    op.create_table(
        "vector_store_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("vector_store_files"),
        sa.Column("vector_store_id", sa.Uuid(), nullable=False),
        sa.Column("openai_file_id", sa.String(length=128), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=256), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("usage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("chunking_strategy", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        *_times(),
        sa.ForeignKeyConstraint(
            ["vector_store_id"],
            ["vector_stores.id"],
            name=op.f("fk_vector_store_files_vector_store_id_vector_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_store_files")),
        sa.UniqueConstraint("vector_store_id", "openai_file_id", name=op.f("uq_vector_store_files_vector_store_id")),
    )
    op.create_index(op.f("ix_vector_store_files_tenant_id"), "vector_store_files", ["tenant_id"])
    op.create_index(op.f("ix_vector_store_files_vector_store_id"), "vector_store_files", ["vector_store_id"])
    op.create_table(
        "vector_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_tenant("vector_chunks"),
        sa.Column("vector_store_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["vector_store_files.id"],
            name=op.f("fk_vector_chunks_file_id_vector_store_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_chunks")),
    )
    op.create_index(op.f("ix_vector_chunks_tenant_id"), "vector_chunks", ["tenant_id"])
    op.create_index(op.f("ix_vector_chunks_vector_store_id"), "vector_chunks", ["vector_store_id"])
    op.create_index(op.f("ix_vector_chunks_file_id"), "vector_chunks", ["file_id"])
    if op.get_bind().dialect.name == "postgresql":
        # BM25 is computed from this column's lexemes and positions (domain/files/ranking.py).
        op.execute(
            "ALTER TABLE vector_chunks ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        # fastupdate off: new chunks are searchable through the index at once, not after a
        # vacuum flushes GIN's pending list (which made fresh stores fall back to seq scans).
        op.execute("CREATE INDEX ix_vector_chunks_tsv ON vector_chunks USING gin (tsv) WITH (fastupdate = off)")
    else:
        # An external-content FTS5 index kept in step by triggers; `bm25()` ranks it.
        op.execute(
            "CREATE VIRTUAL TABLE vector_chunks_fts USING fts5("
            "text, content='vector_chunks', content_rowid='id', tokenize='porter unicode61')"
        )
        op.execute(
            "CREATE TRIGGER vector_chunks_ai AFTER INSERT ON vector_chunks BEGIN "
            "INSERT INTO vector_chunks_fts(rowid, text) VALUES (new.id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER vector_chunks_ad AFTER DELETE ON vector_chunks BEGIN "
            "INSERT INTO vector_chunks_fts(vector_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
        )
    op.create_table(
        "containers",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("containers"),
        sa.Column("openai_id", sa.String(length=128), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("memory_limit", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("expires_after", sa.JSON(), nullable=True),
        sa.Column("file_ids", sa.JSON(), nullable=False),
        sa.Column("last_active_at", UTCDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containers")),
    )
    op.create_index(op.f("ix_containers_tenant_id"), "containers", ["tenant_id"])
    op.create_table(
        "agent_containers",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("agent_containers"),
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("container_id", sa.Uuid(), nullable=False),
        *_times(),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["containers.id"],
            name=op.f("fk_agent_containers_container_id_containers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_containers")),
        sa.UniqueConstraint("tenant_id", "agent_key", name=op.f("uq_agent_containers_tenant_id")),
    )
    op.create_index(op.f("ix_agent_containers_tenant_id"), "agent_containers", ["tenant_id"])
    op.create_index(op.f("ix_agent_containers_container_id"), "agent_containers", ["container_id"])


def downgrade() -> None:
    op.drop_table("agent_containers")
    op.drop_table("containers")
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS vector_chunks_ad")
        op.execute("DROP TRIGGER IF EXISTS vector_chunks_ai")
        op.execute("DROP TABLE IF EXISTS vector_chunks_fts")
    op.drop_table("vector_chunks")
    op.drop_table("vector_store_files")
    op.drop_table("vector_stores")
    op.drop_table("storage_objects")
