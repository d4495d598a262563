"""project scopes of API tokens (NULL: every project)

Revision ID: gateway_0006_token_projects
Revises: gateway_0005_audit_records
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "gateway_0006_token_projects"
down_revision = "gateway_0005_audit_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("projects", postgresql.ARRAY(sa.Text), nullable=True), schema="gateway")


def downgrade() -> None:
    op.drop_column("api_tokens", "projects", schema="gateway")
