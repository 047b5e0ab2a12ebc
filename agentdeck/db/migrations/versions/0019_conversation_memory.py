"""conversations: the memory strategy applied to what the model is sent

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

COLUMNS = (
    ("memory_mode", sa.String(16)),
    ("memory_max_user_turns", sa.Integer()),
    ("memory_keep_last_turns", sa.Integer()),
    ("memory_compact_trigger_turns", sa.Integer()),
    ("memory_compact_keep", sa.Integer()),
    ("memory_clear_tool_inputs", sa.Boolean()),
    ("memory_injection", sa.Boolean()),
)


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
