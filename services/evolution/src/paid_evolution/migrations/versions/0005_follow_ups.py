"""follow-up rounds per pull request (paid.run.follow_up_finished), which enter its runs' scores

Revision ID: evolution_0005
Revises: evolution_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0005"
down_revision = "evolution_0004"
branch_labels = None
depends_on = None

S = "evolution"


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("repo", sa.Text, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("rounds", sa.JSON, nullable=False),
        sa.Column("rounds_without_push", sa.Integer, nullable=False),
        sa.Column("ci_stopped", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("follow_ups", schema=S)
