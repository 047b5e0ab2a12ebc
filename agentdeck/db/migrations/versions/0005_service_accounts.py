"""service accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_account_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("signing_kid", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=256), nullable=True),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_account_tokens_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_account_tokens")),
        sa.UniqueConstraint("jti", name=op.f("uq_service_account_tokens_jti")),
    )
    op.create_index(op.f("ix_service_account_tokens_account"), "service_account_tokens", ["account"])
    op.create_index(op.f("ix_service_account_tokens_tenant_id"), "service_account_tokens", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("service_account_tokens")
