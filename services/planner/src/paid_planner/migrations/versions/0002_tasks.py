"""plan details, tasks and dependencies

Revision ID: planner_0002
Revises: planner_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "planner_0002"
down_revision = "planner_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in (
        sa.Column("summary", sa.Text),
        sa.Column("prompt_version", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
    ):
        op.add_column("plans", column, schema="planner")
    op.create_table(
        "plan_tasks",
        sa.Column("plan_id", sa.Text, sa.ForeignKey("planner.plans.plan_id"), primary_key=True),
        sa.Column("task_id", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("repo", sa.Text, nullable=False),
        sa.Column("issue_number", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("pull_request", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="planner",
    )
    op.create_index("ix_plan_tasks_repo_issue", "plan_tasks", ["repo", "issue_number"], schema="planner")
    op.create_table(
        "task_dependencies",
        sa.Column("plan_id", sa.Text, primary_key=True),
        sa.Column("task_id", sa.Text, primary_key=True),
        sa.Column("depends_on", sa.Text, primary_key=True),
        sa.ForeignKeyConstraint(
            ["plan_id", "task_id"], ["planner.plan_tasks.plan_id", "planner.plan_tasks.task_id"]
        ),
        schema="planner",
    )


def downgrade() -> None:
    op.drop_table("task_dependencies", schema="planner")
    op.drop_table("plan_tasks", schema="planner")
    for name in ("cost_usd", "output_tokens", "input_tokens", "model", "prompt_version", "summary"):
        op.drop_column("plans", name, schema="planner")
