"""daily costs: the spend of runs per project and UTC day, rolled up by a Temporal Schedule

Revision ID: executor_0006
Revises: executor_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0006"
down_revision = "executor_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_costs",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("project", sa.Text, primary_key=True),  # lowercase owner/name
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("daily_costs", schema="executor")
