"""agent_vector_stores: the vector stores each agent of a tenant searches

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_vector_stores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("vector_store_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agent_vector_stores_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vector_store_id"],
            ["vector_stores.id"],
            name=op.f("fk_agent_vector_stores_vector_store_id_vector_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_vector_stores")),
        sa.UniqueConstraint("tenant_id", "agent_key", "vector_store_id", name=op.f("uq_agent_vector_stores_tenant_id")),
    )
    op.create_index(op.f("ix_agent_vector_stores_tenant_id"), "agent_vector_stores", ["tenant_id"])
    op.create_index(op.f("ix_agent_vector_stores_vector_store_id"), "agent_vector_stores", ["vector_store_id"])


def downgrade() -> None:
    op.drop_table("agent_vector_stores")
