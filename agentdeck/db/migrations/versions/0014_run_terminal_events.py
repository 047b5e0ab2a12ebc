"""chat turns get a heartbeat like workflow runs; both keep their stream's terminal event

A turn whose server died is found by its stale heartbeat and failed; a reader whose stream
cannot be read (Redis down, the writing process gone) takes the terminal event from the row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from agentdeck.db.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("terminal_event", sa.JSON(), nullable=True))
    op.create_index(op.f("ix_chat_runs_status"), "chat_runs", ["status"])
    with op.batch_alter_table("workflow_runs") as batch:
        batch.add_column(sa.Column("terminal_event", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_runs") as batch:
        batch.drop_column("terminal_event")
    op.drop_index(op.f("ix_chat_runs_status"), table_name="chat_runs")
    with op.batch_alter_table("chat_runs") as batch:
        batch.drop_column("terminal_event")
        batch.drop_column("heartbeat_at")
