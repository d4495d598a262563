"""provider backoffs: a provider that answered 429 with retry-after is paused for every run and worker

Revision ID: executor_0005
Revises: executor_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "executor_0005"
down_revision = "executor_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_backoffs",
        sa.Column("provider", sa.Text, primary_key=True),  # anthropic, openai, gemini
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        schema="executor",
    )


def downgrade() -> None:
    op.drop_table("provider_backoffs", schema="executor")
