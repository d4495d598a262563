"""run homes: the home queue of the worker process holding each run's worktree, for the other
executors to watch (lost_homes.py)

Revision ID: executor_0009
Revises: executor_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0009"
down_revision = "executor_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_homes",
        sa.Column("run_id", sa.Text, primary_key=True),  # the Temporal run id, as in executor.runs
        sa.Column("workflow_id", sa.Text, nullable=False),
        sa.Column("home_queue", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="executor",
    )
    op.create_index("run_homes_home_queue", "run_homes", ["home_queue"], schema="executor")


def downgrade() -> None:
    op.drop_table("run_homes", schema="executor")
