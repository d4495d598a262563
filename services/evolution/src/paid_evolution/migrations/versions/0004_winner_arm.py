"""experiments name the arm that won: with agent and model arms, several arms share one prompt version

Revision ID: evolution_0004
Revises: evolution_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0004"
down_revision = "evolution_0003"
branch_labels = None
depends_on = None

S = "evolution"


def upgrade() -> None:
    op.add_column("experiments", sa.Column("winner_arm", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("experiments", "winner_arm", schema=S)
