"""run records

Revision ID: evolution_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_records",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("workflow_id", sa.Text, nullable=False),
        sa.Column("repo", sa.Text, nullable=False, index=True),
        sa.Column("issue", sa.Integer, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False, index=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("iterations", sa.Integer, nullable=False),
        sa.Column("pull_request_url", sa.Text),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("trace_id", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema="evolution",
    )


def downgrade() -> None:
    op.drop_table("run_records", schema="evolution")
