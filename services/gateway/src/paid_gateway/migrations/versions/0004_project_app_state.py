"""projects: GitHub App state and a needs-attention reason

Revision ID: gateway_0004_project_app_state
Revises: gateway_0003_read_models
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0004_project_app_state"
down_revision = "gateway_0003_read_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("app_state", sa.Text), schema="gateway")
    op.add_column("projects", sa.Column("attention_reason", sa.Text), schema="gateway")


def downgrade() -> None:
    op.drop_column("projects", "attention_reason", schema="gateway")
    op.drop_column("projects", "app_state", schema="gateway")
