"""prompt registry, run scores and votes, experiments

Revision ID: evolution_0002
Revises: evolution_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "evolution_0002"
down_revision = "evolution_0001"
branch_labels = None
depends_on = None

S = "evolution"
NOW = sa.text("now()")


def upgrade() -> None:
    for column in (
        sa.Column("category", sa.Text),
        sa.Column("project", sa.Text),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("pull_request_number", sa.Integer),
        sa.Column("pull_request_state", sa.Text),
        sa.Column("experiment_id", sa.Text),
        sa.Column("arm", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("scored_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("run_records", column, schema=S)
    op.create_index("run_records_pull_request", "run_records", ["repo", "pull_request_number"], schema=S)
    op.create_index("run_records_experiment", "run_records", ["experiment_id", "arm"], schema=S)
    op.create_index("run_records_category_project", "run_records", ["category", "project", "recorded_at"], schema=S)

    op.create_table(
        "votes",
        sa.Column("reaction_id", sa.BigInteger, primary_key=True),
        sa.Column("repo", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("value", sa.SmallInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("value IN (-1, 1)", name="votes_value"),
        schema=S,
    )
    op.create_index("votes_target", "votes", ["repo", "number"], schema=S)
    op.create_table(
        "pull_request_states",
        sa.Column("repo", sa.Text, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "prompt_versions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Text, sa.ForeignKey(f"{S}.prompt_versions.id")),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="candidate"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("category", "number", name="prompt_versions_number"),
        sa.UniqueConstraint("category", "content_hash", name="prompt_versions_content"),
        sa.CheckConstraint("status IN ('candidate', 'active', 'retired')", name="prompt_versions_status"),
        schema=S,
    )
    # Versions are immutable: only their status may change, and they are never deleted.
    op.execute(
        f"""
        CREATE FUNCTION {S}.prompt_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'prompt version % is immutable: it cannot be deleted', OLD.id;
          END IF;
          IF (NEW.id, NEW.category, NEW.number, NEW.template, NEW.variables::text, NEW.content_hash,
              NEW.parent_id, NEW.reason, NEW.created_at)
             IS DISTINCT FROM
             (OLD.id, OLD.category, OLD.number, OLD.template, OLD.variables::text, OLD.content_hash,
              OLD.parent_id, OLD.reason, OLD.created_at) THEN
            RAISE EXCEPTION 'prompt version % is immutable: register a new version instead', OLD.id;
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER prompt_versions_immutable BEFORE UPDATE OR DELETE ON {S}.prompt_versions
          FOR EACH ROW EXECUTE FUNCTION {S}.prompt_versions_immutable();
        """
    )
    op.create_table(
        "active_prompts",
        sa.Column("category", sa.Text, primary_key=True),
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("version_id", sa.Text, sa.ForeignKey(f"{S}.prompt_versions.id"), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("version_id", sa.Text, nullable=False),
        sa.Column("previous_version_id", sa.Text),
        sa.Column("experiment_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "project_policies",
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("require_approval", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=S,
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("control_version", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decision", sa.Text),
        sa.Column("winner_version", sa.Text),
        sa.Column("alpha", sa.Float, nullable=False),
        sa.Column("min_samples_per_arm", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", sa.DateTime(timezone=True)),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.CheckConstraint("status IN ('running', 'awaiting_approval', 'concluded')", name="experiments_status"),
        schema=S,
    )
    # At most one open experiment per category and project.
    op.create_index(
        "experiments_one_open",
        "experiments",
        ["category", "project"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status <> 'concluded'"),
    )
    op.create_table(
        "experiment_arms",
        sa.Column("experiment_id", sa.Text, sa.ForeignKey(f"{S}.experiments.id"), primary_key=True),
        sa.Column("arm", sa.Text, primary_key=True),
        sa.Column("version_id", sa.Text, sa.ForeignKey(f"{S}.prompt_versions.id"), nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.Column("stop_reason", sa.Text),
        schema=S,
    )


def downgrade() -> None:
    for table in ("experiment_arms", "experiments", "project_policies", "promotions", "active_prompts"):
        op.drop_table(table, schema=S)
    op.execute(f"DROP TRIGGER prompt_versions_immutable ON {S}.prompt_versions")
    op.execute(f"DROP FUNCTION {S}.prompt_versions_immutable()")
    op.drop_table("prompt_versions", schema=S)
    op.drop_table("pull_request_states", schema=S)
    op.drop_table("votes", schema=S)
    for index in ("run_records_pull_request", "run_records_experiment", "run_records_category_project"):
        op.drop_index(index, table_name="run_records", schema=S)
    for column in ("category", "project", "detail", "pull_request_number", "pull_request_state",
                   "experiment_id", "arm", "score", "scored_at"):
        op.drop_column("run_records", column, schema=S)
