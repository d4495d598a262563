"""experiment arms may be agents and models: each arm's agent and model (None: the run's own choice)

Revision ID: evolution_0003
Revises: evolution_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0003"
down_revision = "evolution_0002"
branch_labels = None
depends_on = None

S = "evolution"


def upgrade() -> None:
    op.add_column("experiment_arms", sa.Column("agent", sa.Text), schema=S)
    op.add_column("experiment_arms", sa.Column("model", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("experiment_arms", "model", schema=S)
    op.drop_column("experiment_arms", "agent", schema=S)
