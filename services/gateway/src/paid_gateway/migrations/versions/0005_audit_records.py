"""audit records of operator actions on prompts and experiments

Revision ID: gateway_0005_audit_records
Revises: gateway_0004_project_app_state
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0005_audit_records"
down_revision = "gateway_0004_project_app_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        schema="gateway",
    )
    op.create_index("ix_audit_records_occurred_at", "audit_records", ["occurred_at"], schema="gateway")
    op.create_index("ix_audit_records_target", "audit_records", ["target"], schema="gateway")


def downgrade() -> None:
    op.drop_table("audit_records", schema="gateway")
