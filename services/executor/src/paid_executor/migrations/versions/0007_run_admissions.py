"""run admissions: the runs waiting for a slot or holding one, and when each project was last served

Revision ID: executor_0007
Revises: executor_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0007"
down_revision = "executor_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_admissions",
        sa.Column("workflow_id", sa.Text, primary_key=True),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True)),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="executor",
    )
    op.create_table(
        "admission_turns",
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("admission_turns", schema="executor")
    op.drop_table("run_admissions", schema="executor")
