"""plans

Revision ID: planner_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "planner_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Text, primary_key=True),
        sa.Column("repo", sa.Text, nullable=False, index=True),
        sa.Column("issue", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="planner",
    )


def downgrade() -> None:
    op.drop_table("plans", schema="planner")
