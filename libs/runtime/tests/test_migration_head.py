"""migrate() skips Alembic when a schema is at its head; that head is read from the revision files
without Alembic. It must agree with Alembic on every service's migrations, or say it cannot tell."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from paid_runtime.database import newest_revision

ROOT = Path(__file__).parents[3]
SERVICE_MIGRATIONS = sorted(ROOT.glob("services/*/src/*/migrations"))


def alembic_heads(migrations_dir: Path) -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return list(ScriptDirectory.from_config(config).get_heads())


def test_every_service_has_migrations_to_read() -> None:
    assert len(SERVICE_MIGRATIONS) >= 5


@pytest.mark.parametrize("migrations_dir", SERVICE_MIGRATIONS, ids=lambda path: path.parts[-3])
def test_the_head_read_from_the_files_is_alembics(migrations_dir: Path) -> None:
    assert [newest_revision(migrations_dir)] == alembic_heads(migrations_dir)


def revision(directory: Path, name: str, down: str | None, *, style: str = '"') -> None:
    parent = "None" if down is None else f"{style}{down}{style}"
    (directory / f"{name}.py").write_text(
        f'"""{name}\n\nRevision ID: {name}\nRevises: {down}\n"""\n\n'
        f"revision: str = {style}{name}{style}\ndown_revision: str | None = {parent}\n"
    )


def test_a_line_of_revisions_has_its_last_as_head(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    revision(tmp_path / "versions", "r1", None)
    revision(tmp_path / "versions", "r2", "r1", style="'")
    revision(tmp_path / "versions", "r3", "r2")
    assert newest_revision(tmp_path) == "r3" == alembic_heads(tmp_path)[0]


def test_two_branches_leave_the_answer_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    revision(tmp_path / "versions", "r1", None)
    revision(tmp_path / "versions", "r2a", "r1")
    revision(tmp_path / "versions", "r2b", "r1")
    assert newest_revision(tmp_path) is None
    assert sorted(alembic_heads(tmp_path)) == ["r2a", "r2b"]


def test_a_merge_or_an_unread_file_leaves_the_answer_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    revision(tmp_path / "versions", "r1", None)
    (tmp_path / "versions" / "r2.py").write_text('revision = "r2"\ndown_revision = ("r1", "r0")\n')
    assert newest_revision(tmp_path) is None


def test_a_parent_no_file_defines_leaves_the_answer_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    revision(tmp_path / "versions", "r2", "r1")
    assert newest_revision(tmp_path) is None
