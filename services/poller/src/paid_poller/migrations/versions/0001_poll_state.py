"""poll state

Revision ID: poller_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "poller_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_state",
        sa.Column("repo", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("seen", JSONB, nullable=False, server_default="{}"),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=False),
        schema="poller",
    )


def downgrade() -> None:
    op.drop_table("poll_state", schema="poller")
