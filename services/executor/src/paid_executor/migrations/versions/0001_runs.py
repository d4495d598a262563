"""runs

Revision ID: executor_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("workflow_id", sa.Text, nullable=False, index=True),
        sa.Column("repo", sa.Text, nullable=False, index=True),
        sa.Column("issue", sa.Integer, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("branch", sa.Text),
        sa.Column("head_sha", sa.Text),
        sa.Column("pull_request_url", sa.Text),
        sa.Column("pull_request_number", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("runs", schema="executor")
