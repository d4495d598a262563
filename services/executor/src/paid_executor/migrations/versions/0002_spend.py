"""spend ledger: counters per budget scope and period, and leased reservations

Revision ID: executor_0002
Revises: executor_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "executor_0002"
down_revision = "executor_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_counters",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("spent_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("spent_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        schema="executor",
    )
    op.create_table(
        "spend_reservations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("usd", sa.Float, nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        schema="executor",
    )
    op.create_index(
        "spend_reservations_scopes",
        "spend_reservations",
        ["scopes"],
        schema="executor",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_table("spend_reservations", schema="executor")
    op.drop_table("spend_counters", schema="executor")
