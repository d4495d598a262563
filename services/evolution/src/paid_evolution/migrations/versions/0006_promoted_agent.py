"""the active choice of a (category, project) names the agent and model an experiment promoted with the
prompt; a promotion records what it replaced, so a rollback restores the agent too

Revision ID: evolution_0006
Revises: evolution_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0006"
down_revision = "evolution_0005"
branch_labels = None
depends_on = None

S = "evolution"
PROMOTION_COLUMNS = ("agent", "model", "previous_agent", "previous_model")


def upgrade() -> None:
    for column in ("agent", "model"):
        op.add_column("active_prompts", sa.Column(column, sa.Text), schema=S)
    for column in PROMOTION_COLUMNS:
        op.add_column("promotions", sa.Column(column, sa.Text), schema=S)


def downgrade() -> None:
    for column in PROMOTION_COLUMNS:
        op.drop_column("promotions", column, schema=S)
    for column in ("agent", "model"):
        op.drop_column("active_prompts", column, schema=S)
