"""projects: the agent and model chosen for the project (null: the executor's own setting)

Revision ID: gateway_0008_project_agent
Revises: gateway_0007_run_iterations
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0008_project_agent"
down_revision = "gateway_0007_run_iterations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("agent", sa.Text, nullable=True), schema="gateway")
    op.add_column("projects", sa.Column("agent_model", sa.Text, nullable=True), schema="gateway")


def downgrade() -> None:
    op.drop_column("projects", "agent_model", schema="gateway")
    op.drop_column("projects", "agent", schema="gateway")
