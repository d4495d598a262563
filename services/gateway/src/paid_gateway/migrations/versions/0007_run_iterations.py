"""runs: the model, the token kinds and each iteration's summary, from run.finished (additive)

Revision ID: gateway_0007_run_iterations
Revises: gateway_0006_token_projects
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "gateway_0007_run_iterations"
down_revision = "gateway_0006_token_projects"
branch_labels = None
depends_on = None

TOKEN_KINDS = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def upgrade() -> None:
    op.add_column("runs", sa.Column("model", sa.Text, nullable=True), schema="gateway")
    for name in TOKEN_KINDS:
        op.add_column("runs", sa.Column(name, sa.BigInteger, nullable=True), schema="gateway")
    op.add_column(
        "runs",
        sa.Column("iteration_summaries", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_column("runs", "iteration_summaries", schema="gateway")
    for name in TOKEN_KINDS:
        op.drop_column("runs", name, schema="gateway")
    op.drop_column("runs", "model", schema="gateway")
