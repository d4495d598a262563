"""The host's import of an agent's worktree, against a hostile worktree: what is committed, what is
refused, and that nothing the agent planted in its own `.git` or attributes runs on the host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity
from paid_executor.worktree_import import ImportedChange, import_worktree

from .conftest import git


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A repository with a file, a .gitmodules, a submodule gitlink and a .gitignore."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "--quiet", "--initial-branch=main")
    (source / "calc.py").write_text("x = 1\n")
    (source / ".gitignore").write_text("build/\n*.log\n")
    (source / ".gitmodules").write_text('[submodule "vendor"]\n\tpath = vendor\n\turl = ../vendor\n')
    git(source, "add", "-A")
    git(source, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor")
    git(source, "commit", "--quiet", "-m", "initial")
    return source


@pytest.fixture
async def checked_out(origin: Path, tmp_path: Path) -> tuple[HostRepository, Path, str]:
    host = HostRepository(tmp_path / "run" / "host.git", identity=Identity("Paid", "p@x"))
    mirrored = await RepositoryCache(tmp_path / "cache", max_bytes=10**9).refresh(str(origin), "main")
    base = mirrored.base_sha
    await host.attach_base(mirrored.mirror, base)
    worktree = tmp_path / "run" / "worktree"
    await host.check_out(worktree, "paid/issue-1", public_url="https://example.invalid/r.git")
    return host, worktree, base


async def run_import(
    checked_out: tuple[HostRepository, Path, str], *, allow_workflows: bool = False, limit: int = 1000
) -> ImportedChange:
    host, worktree, base = checked_out
    return await import_worktree(
        host, worktree, base=base, message="m", max_file_bytes=limit, allow_workflow_changes=allow_workflows
    )


async def test_the_agent_gets_its_own_repository_that_points_nowhere_secret(
    checked_out: tuple[HostRepository, Path, str],
) -> None:
    host, worktree, base = checked_out
    assert git(worktree, "rev-parse", "HEAD").strip() == base
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == "paid/issue-1"
    assert git(worktree, "remote", "get-url", "origin").strip() == "https://example.invalid/r.git"
    assert str(host.git_dir) not in (worktree / ".git" / "config").read_text()
    objects = [Path(d) / f for d, _, fs in os.walk(worktree / ".git" / "objects") for f in fs]
    assert objects
    assert all(path.stat().st_nlink == 1 for path in objects), "objects shared by hard links"


async def test_files_links_and_modes_are_imported_and_ignored_files_are_not(
    checked_out: tuple[HostRepository, Path, str],
) -> None:
    host, worktree, _ = checked_out
    (worktree / "calc.py").write_text("x = 2\n")
    (worktree / "run.sh").write_text("#!/bin/sh\n")
    (worktree / "run.sh").chmod(0o755)
    (worktree / "passwd").symlink_to("/etc/passwd")
    (worktree / "build").mkdir()
    (worktree / "build" / "out.bin").write_text("ignored")
    (worktree / "debug.log").write_text("ignored")
    imported = await run_import(checked_out)
    assert imported.refused == ()
    assert sorted(imported.changed_files) == ["calc.py", "passwd", "run.sh"]
    entries = await host.entries(imported.commit)
    assert entries["passwd"].mode == "120000"
    assert (await host.git("cat-file", "blob", entries["passwd"].object_id)) == b"/etc/passwd"
    assert entries["run.sh"].mode == "100755"
    assert entries["vendor"].mode == "160000", "the uninitialised submodule is kept as it was"


@pytest.mark.parametrize(
    ("plant", "refused"),
    [
        (lambda w: git(w.parent, "init", "--quiet", str(w / "nested")), "nested (a nested git repository"),
        (lambda w: (w / "vendor" / "file").write_text("x"), "vendor ("),
        (lambda w: (w / ".gitmodules").write_text("[submodule]\n"), ".gitmodules (submodules"),
        (lambda w: _write(w / ".github" / "workflows" / "ci.yml", "on: push\n"), ".github/workflows/ci.yml"),
        (lambda w: (w / "big.bin").write_bytes(b"0" * 1001), "big.bin (1001 bytes"),
    ],
)
async def test_what_git_must_not_take_from_an_agent_is_refused(
    checked_out: tuple[HostRepository, Path, str], plant: object, refused: str
) -> None:
    assert callable(plant)
    plant(checked_out[1])
    imported = await run_import(checked_out)
    assert any(reason.startswith(refused) for reason in imported.refused), imported.refused


async def test_workflow_changes_pass_where_the_project_allows_them(
    checked_out: tuple[HostRepository, Path, str],
) -> None:
    _write(checked_out[1] / ".github" / "workflows" / "ci.yml", "on: push\n")
    assert (await run_import(checked_out, allow_workflows=True)).refused == ()


async def test_nothing_planted_in_the_agents_git_runs_on_the_host(
    checked_out: tuple[HostRepository, Path, str], tmp_path: Path
) -> None:
    host, worktree, base = checked_out
    marker = tmp_path / "ran-on-host"
    command = f"touch {marker}"
    dot_git = worktree / ".git"
    for hook in ("post-commit", "pre-commit", "reference-transaction", "pre-push", "post-index-change"):
        _write(dot_git / "hooks" / hook, f"#!/bin/sh\n{command}\n").chmod(0o755)
    for key, value in {
        "core.fsmonitor": command,
        "core.hooksPath": str(dot_git / "hooks"),
        "filter.evil.clean": command,
        "filter.evil.smudge": command,
        "filter.evil.process": command,
        "diff.external": command,
        "include.path": str(tmp_path / "included"),
    }.items():
        git(worktree, "config", key, value)
    (tmp_path / "included").write_text(f"[core]\n\tfsmonitor = {command}\n")
    (worktree / ".gitattributes").write_text("* filter=evil diff=evil\n")
    _write(dot_git / "info" / "attributes", "* filter=evil\n")
    (worktree / "calc.py").write_text("x = 3\n")
    imported = await run_import(checked_out)
    await host.diff(base, imported.commit)
    assert not marker.exists(), "a command the agent planted ran on the host"
    blob = subprocess.run(
        ["git", f"--git-dir={host.git_dir}", "show", f"{imported.commit}:calc.py"],
        capture_output=True,
        check=True,
    ).stdout
    assert blob == b"x = 3\n", "the file went through a filter"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
