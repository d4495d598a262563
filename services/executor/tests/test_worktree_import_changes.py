"""The import's own bookkeeping, which replaced git processes: the changed paths it computes from the
walk must be exactly git's (`diff-tree`), the ignored paths must spare tracked files a pattern
matches, and the commit is known without any ref being written, so concurrent imports never meet."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity
from paid_executor.worktree_import import import_worktree

from .conftest import git


@pytest.fixture
async def checked_out(tmp_path: Path) -> tuple[HostRepository, Path, str]:
    source = tmp_path / "source"
    (source / "lib").mkdir(parents=True)
    git(source, "init", "--quiet", "--initial-branch=main")
    (source / ".gitignore").write_text("*.log\nbuild/\n")
    (source / "calc.py").write_text("x = 1\n")
    (source / "tool.sh").write_text("#!/bin/sh\n")
    (source / "gone.txt").write_text("deleted by the agent\n")
    (source / "same.txt").write_text("never touched\n")
    (source / "lib" / "a.py").write_text("a\n")
    (source / "kept.log").write_text("tracked although ignored\n")
    (source / "link").symlink_to("calc.py")
    git(source, "add", "-A", "--force")
    git(source, "commit", "--quiet", "-m", "base")
    host = HostRepository(tmp_path / "run" / "host.git", identity=Identity("Paid", "p@x"))
    mirrored = await RepositoryCache(tmp_path / "cache", max_bytes=10**9).refresh(str(source), "main")
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    worktree = tmp_path / "run" / "worktree"
    await host.check_out(worktree, "paid/issue-1", public_url="https://example.invalid/r.git")
    return host, worktree, mirrored.base_sha


def host_git(host: HostRepository, *args: str) -> str:
    env = {"GIT_DIR": str(host.git_dir), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/"}
    return subprocess.run(["git", *args], env=env, check=True, capture_output=True, text=True).stdout


async def test_the_changed_paths_are_gits_own(checked_out: tuple[HostRepository, Path, str]) -> None:
    host, worktree, base = checked_out
    (worktree / "tool.sh").chmod(0o755)  # the mode alone changes
    (worktree / "gone.txt").unlink()
    (worktree / "kept.log").write_text("changed: tracked, so imported whatever .gitignore says\n")
    (worktree / "new.log").write_text("untracked and ignored\n")
    (worktree / "build").mkdir()
    (worktree / "build" / "out.o").write_text("ignored\n")
    (worktree / "link").unlink()
    (worktree / "link").symlink_to("same.txt")  # a link retargeted
    (worktree / "lib" / "a.py").unlink()
    (worktree / "lib" / "a.py").mkdir()  # a file becomes a directory
    (worktree / "lib" / "a.py" / "inner.py").write_text("a\n")
    (worktree / "lib-x.py").write_text("sorts before lib/ in git's order\n")

    imported = await import_worktree(
        host, worktree, base=base, message="m", max_file_bytes=1000, allow_workflow_changes=False
    )

    by_git = host_git(host, "diff-tree", "-r", "-z", "--no-renames", "--name-only", base, imported.commit)
    assert imported.changed_files == tuple(path for path in by_git.split("\0") if path)
    assert set(imported.changed_files) == {
        "tool.sh",
        "gone.txt",
        "kept.log",
        "link",
        "lib/a.py",
        "lib/a.py/inner.py",
        "lib-x.py",
    }
    assert host_git(host, "rev-parse", f"{imported.commit}^").strip() == base
    assert host_git(host, "cat-file", "blob", f"{imported.commit}:link") == "same.txt"


async def test_an_unchanged_worktree_changes_nothing(checked_out: tuple[HostRepository, Path, str]) -> None:
    host, worktree, base = checked_out
    imported = await import_worktree(
        host, worktree, base=base, message="m", max_file_bytes=1000, allow_workflow_changes=False
    )
    assert imported.changed_files == ()
    assert host_git(host, "rev-parse", f"{imported.commit}^{{tree}}") == host_git(
        host, "rev-parse", f"{base}^{{tree}}"
    )


async def test_concurrent_imports_write_no_ref_and_both_succeed(
    checked_out: tuple[HostRepository, Path, str],
) -> None:
    host, worktree, base = checked_out
    (worktree / "calc.py").write_text("x = 2\n")
    first, second = await asyncio.gather(
        *(
            import_worktree(
                host, worktree, base=base, message=message, max_file_bytes=1000, allow_workflow_changes=False
            )
            for message in ("first", "second")
        )
    )
    assert first.commit != second.commit  # two messages, two commits
    assert first.changed_files == second.changed_files == ("calc.py",)
    for imported, message in ((first, "first"), (second, "second")):
        assert host_git(host, "log", "-1", "--format=%s", imported.commit).strip() == message
    assert host_git(host, "for-each-ref", "refs/paid/import", "refs/paid/imports") == ""
