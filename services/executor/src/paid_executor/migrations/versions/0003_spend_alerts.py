"""spend alerts: an outbox of budget thresholds reached (80%, 100%), one row per scope and threshold

Revision ID: executor_0003
Revises: executor_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "executor_0003"
down_revision = "executor_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_alerts",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        schema="executor",
    )
    op.create_index(
        "spend_alerts_unpublished",
        "spend_alerts",
        ["created_at"],
        schema="executor",
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("spend_alerts", schema="executor")
