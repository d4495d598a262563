"""projects and event cursors

Revision ID: poller_0002
Revises: poller_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "poller_0002"
down_revision = "poller_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("repo", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("token_ciphertext", sa.Text),
        sa.Column("labels", JSONB, nullable=False, server_default="{}"),
        sa.Column("poll_interval_seconds", sa.Float, nullable=False),
        sa.Column("polling", sa.Text, nullable=False),
        sa.Column("allowlist", JSONB, nullable=False, server_default="[]"),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        schema="poller",
    )
    # The skeleton's state (one ETag, issue -> updated_at) is replaced by event and comment cursors.
    op.drop_table("poll_state", schema="poller")
    op.create_table(
        "poll_state",
        sa.Column("repo", sa.Text, primary_key=True),
        sa.Column("baseline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events_etag", sa.Text),
        sa.Column("last_event_id", sa.BigInteger),
        sa.Column("comments_etag", sa.Text),
        sa.Column("comments_since", sa.Text),
        sa.Column("max_comment_id", sa.BigInteger),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=False),
        schema="poller",
    )


def downgrade() -> None:
    op.drop_table("poll_state", schema="poller")
    op.drop_table("projects", schema="poller")
