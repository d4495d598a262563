"""projects

Revision ID: gateway_0002
Revises: gateway_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("auth", sa.Text, nullable=False),
        sa.Column("token_ciphertext", sa.Text),
        sa.Column("installation_id", sa.BigInteger),
        sa.Column("labels", JSONB, nullable=False, server_default="{}"),
        sa.Column("poll_interval_seconds", sa.Float, nullable=False),
        sa.Column("polling", sa.Text, nullable=False),
        sa.Column("allowlist", JSONB, nullable=False, server_default="[]"),
        sa.Column("webhook_secret_ciphertext", sa.Text),
        sa.Column("previous_webhook_secret_ciphertext", sa.Text),
        sa.Column("previous_secret_valid_until", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_table("projects", schema="gateway")
