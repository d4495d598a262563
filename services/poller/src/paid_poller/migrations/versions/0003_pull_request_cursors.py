"""pull request cursors

Revision ID: poller_0003
Revises: poller_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "poller_0003"
down_revision = "poller_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("poll_state", sa.Column("pulls_etag", sa.Text), schema="poller")
    op.add_column("poll_state", sa.Column("pulls", JSONB, nullable=False, server_default="{}"), schema="poller")


def downgrade() -> None:
    op.drop_column("poll_state", "pulls", schema="poller")
    op.drop_column("poll_state", "pulls_etag", schema="poller")
