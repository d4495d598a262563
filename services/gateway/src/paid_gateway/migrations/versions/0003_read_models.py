"""read models (runs, their events and output) and API tokens

Revision ID: gateway_0003_read_models
Revises: gateway_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0003_read_models"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("workflow_id", sa.Text, nullable=False, index=True),
        sa.Column("project", sa.Text),
        sa.Column("repo", sa.Text, nullable=False, index=True),
        sa.Column("issue_number", sa.Integer, nullable=False),
        sa.Column("agent", sa.Text),
        sa.Column("prompt_version", sa.Text),
        sa.Column("status", sa.Text, nullable=False, index=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("started_at", TZ, index=True),
        sa.Column("finished_at", TZ),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("iterations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pull_request_number", sa.Integer),
        sa.Column("pull_request_url", sa.Text),
        sa.Column("branch", sa.Text),
        sa.Column("head_sha", sa.Text),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("cost_usd", sa.Float),
        sa.Column("trace_id", sa.Text),
        sa.Column("updated_at", TZ, nullable=False, index=True),
        schema="gateway",
    )
    op.create_table(
        "run_events",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("run_id", sa.Text, nullable=False, index=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        schema="gateway",
    )
    op.create_table(
        "run_output",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.UniqueConstraint("run_id", "attempt", "sequence", "position", name="run_output_line"),
        schema="gateway",
    )
    op.create_index("run_output_by_run", "run_output", ["run_id", "id"], schema="gateway")
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("token_sha256", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_table("api_tokens", schema="gateway")
    op.drop_table("run_output", schema="gateway")
    op.drop_table("run_events", schema="gateway")
    op.drop_table("runs", schema="gateway")
