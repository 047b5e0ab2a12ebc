"""the activity feed: a tenant's platform events, and each reader's receipts and checkpoint

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "activity_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("actor_type", sa.String(32), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=True),
        sa.Column("object_type", sa.String(64), nullable=True),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("object_name", sa.String(512), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("ip_hash", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("metadata", sa.JSON(none_as_null=True), nullable=True),
        *_tenant("activity_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
    )
    op.create_index(op.f("ix_activity_events_tenant_id"), "activity_events", ["tenant_id"])
    op.create_index(op.f("ix_activity_events_action"), "activity_events", ["action"])
    op.create_index("ix_activity_events_tenant_order", "activity_events", ["tenant_id", "created_at", "id"])
    op.create_table(
        "activity_receipts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("reader", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_tenant("activity_receipts"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["activity_events.id"],
            name=op.f("fk_activity_receipts_event_id_activity_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_receipts")),
        sa.UniqueConstraint("event_id", "reader", name=op.f("uq_activity_receipts_event_id")),
    )
    op.create_index(op.f("ix_activity_receipts_tenant_id"), "activity_receipts", ["tenant_id"])
    op.create_index(op.f("ix_activity_receipts_reader"), "activity_receipts", ["reader"])
    op.create_table(
        "activity_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reader", sa.String(200), nullable=False),
        sa.Column("read_until", UTCDateTime(), nullable=False),
        *_tenant("activity_checkpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_checkpoints")),
        sa.UniqueConstraint("tenant_id", "reader", name=op.f("uq_activity_checkpoints_tenant_id")),
    )
    op.create_index(op.f("ix_activity_checkpoints_tenant_id"), "activity_checkpoints", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("activity_checkpoints")
    op.drop_table("activity_receipts")
    op.drop_table("activity_events")
