"""status page, subscriptions, incidents, contact

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_probes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_probes")),
    )
    op.create_index(op.f("ix_status_probes_checked_at"), "status_probes", ["checked_at"])
    op.create_index("ix_status_probes_service_checked_at", "status_probes", ["service", "checked_at"])
    op.create_table(
        "status_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("impact", sa.String(length=500), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incidents")),
    )
    op.create_index(op.f("ix_status_incidents_occurred_at"), "status_incidents", ["occurred_at"])
    op.create_table(
        "status_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("severity_filter", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("verify_token_hash", sa.String(length=64), nullable=True),
        sa.Column("verify_expires_at", UTCDateTime(), nullable=True),
        sa.Column("unsubscribe_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_status_subscriptions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscriptions")),
        sa.UniqueConstraint("verify_token_hash", name=op.f("uq_status_subscriptions_verify_token_hash")),
        sa.UniqueConstraint("unsubscribe_token_hash", name=op.f("uq_status_subscriptions_unsubscribe_token_hash")),
    )
    op.create_index(op.f("ix_status_subscriptions_status"), "status_subscriptions", ["status"])
    op.create_index(op.f("ix_status_subscriptions_tenant_id"), "status_subscriptions", ["tenant_id"])
    op.create_table(
        "contact_submissions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("company", sa.String(length=120), nullable=True),
        sa.Column("topic", sa.String(length=80), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_submissions")),
    )
    op.create_index(op.f("ix_contact_submissions_email"), "contact_submissions", ["email"])


def downgrade() -> None:
    op.drop_table("contact_submissions")
    op.drop_table("status_subscriptions")
    op.drop_table("status_incidents")
    op.drop_table("status_probes")
