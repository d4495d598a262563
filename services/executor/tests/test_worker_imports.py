"""What a worker carries from its start: the entry point imports no module it does not need to take
work (each is resident for the process's life, once per replica). The heavy optional ones load only on
the path that uses them: the Docker SDK with the docker sandbox, Alembic when a schema is behind its
head, githubkit's models with the first response that needs them."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_runtime.database import migrate

from .conftest import MIGRATIONS

NOT_AT_START = (
    "docker",  # the docker sandbox's, imported when that sandbox is configured
    "alembic",  # migrations, imported only when a schema is behind its head
    "mako",  # Alembic's templates
    "githubkit_schemas.latest.models",  # GitHub's models, with the first response that needs them
    "githubkit.versions.latest.models",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.mysql",
    "sqlalchemy.dialects.mssql",
    "sqlalchemy.dialects.oracle",
    "temporalio.testing",
    "pytest",
    "paid_devstack",
    "paid_github_emulator",
    "paid_llm_emulator",
    "paid_gateway",
)

IMPORT_THE_WORKER = (
    "import json, sys\n"
    "import paid_executor.main, paid_executor.worker\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_the_worker_entry_point_imports_no_heavy_optional_module() -> None:
    # A fresh interpreter: this test process has imported all of these for its own fixtures.
    command = [sys.executable, "-c", IMPORT_THE_WORKER]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    loaded = set(json.loads(output.stdout))
    assert "paid_executor.workflows" in loaded  # it did import the worker
    assert sorted(loaded & set(NOT_AT_START)) == []


def without_alembic(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("alembic", "alembic.config", "alembic.runtime.environment", "alembic.script"):
        monkeypatch.setitem(sys.modules, module, None)  # importing any of them now raises ImportError


async def test_a_schema_at_its_head_migrates_without_alembic(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's schema is migrated to the head; a second migrate must not need Alembic at all."""
    without_alembic(monkeypatch)
    assert await migrate(engine, schema="executor", migrations_dir=MIGRATIONS) == []


def add_revision(migrations: Path, name: str, down: str | None) -> None:
    parent = "None" if down is None else f'"{down}"'
    (migrations / "versions" / f"{name}.py").write_text(
        f'revision = "{name}"\ndown_revision = {parent}\n\n\n'
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )


async def test_a_schema_behind_its_head_still_migrates(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"behind_{uuid.uuid4().hex[:8]}"
    (tmp_path / "versions").mkdir()
    add_revision(tmp_path, "first", None)
    assert await migrate(engine, schema=schema, migrations_dir=tmp_path) == ["first"]
    add_revision(tmp_path, "second", "first")
    assert await migrate(engine, schema=schema, migrations_dir=tmp_path) == ["second"]
    without_alembic(monkeypatch)
    assert await migrate(engine, schema=schema, migrations_dir=tmp_path) == []
