"""project agents: each project's agent and model, from the gateway's project snapshots

Revision ID: executor_0008
Revises: executor_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0008"
down_revision = "executor_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_agents",
        sa.Column("project", sa.Text, primary_key=True),  # lowercase owner/name
        sa.Column("version", sa.BigInteger, nullable=False),  # the snapshot's; the newest wins
        sa.Column("agent", sa.Text),  # null: the executor's PAID_EXECUTOR_AGENT
        sa.Column("agent_model", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("project_agents", schema="executor")
