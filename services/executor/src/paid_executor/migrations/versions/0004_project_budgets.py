"""project budgets: each project's own caps and time zone, set by admins through the gateway

Revision ID: executor_0004
Revises: executor_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "executor_0004"
down_revision = "executor_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_budgets",
        sa.Column("project", sa.Text, primary_key=True),  # lowercase owner/name
        sa.Column("caps", JSONB, nullable=False),  # paid_contracts.budget_caps.BudgetCaps
        sa.Column("updated_by", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("project_budgets", schema="executor")
