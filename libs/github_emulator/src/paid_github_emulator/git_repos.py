"""Bare git repositories on disk, one per emulated repository, driven by the git CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class GitError(RuntimeError):
    pass


@dataclass(frozen=True)
class DiffStats:
    commits: int
    additions: int
    deletions: int
    changed_files: int


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A hermetic environment: no user or system config leaks into the emulated server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    return env | (extra or {})


class GitRepos:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, owner: str, name: str) -> Path:
        return self.root / owner / f"{name}.git"

    def run(self, owner: str, name: str, *args: str, env: dict[str, str] | None = None) -> str:
        """`git` in the bare repository; raises GitError with git's message when it fails."""
        return self._git(owner, name, *args, env=env)

    def run_bytes(self, owner: str, name: str, *args: str) -> bytes:
        """`git` in the bare repository, for binary output (archives)."""
        result = subprocess.run(
            ["git", "--git-dir", str(self.path(owner, name)), *args],
            capture_output=True,
            env=git_env(),
            check=False,
        )
        if result.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout

    def _git(self, owner: str, name: str, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path(owner, name)), *args],
            capture_output=True,
            text=True,
            env=git_env(env),
            check=False,
        )
        if result.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def create(self, owner: str, name: str, files: dict[str, str], default_branch: str, author: str) -> None:
        path = self.path(owner, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "--quiet", f"--initial-branch={default_branch}", str(path)],
            check=True,
            env=git_env(),
            capture_output=True,
        )
        self._git(owner, name, "config", "http.receivepack", "true")
        if files:
            self._initial_commit(owner, name, files, default_branch, author)

    def _initial_commit(self, owner: str, name: str, files: dict[str, str], branch: str, author: str) -> None:
        identity = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.localhost",
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": f"{author}@users.noreply.localhost",
        }
        with tempfile.TemporaryDirectory(prefix="emu-seed-") as scratch:
            tree_dir = Path(scratch) / "tree"
            for relative, content in files.items():
                target = tree_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            env = identity | {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self._git(owner, name, "--work-tree", str(tree_dir), "add", "--all", env=env)
            tree = self._git(owner, name, "write-tree", env=env).strip()
            commit = self._git(owner, name, "commit-tree", tree, "-m", "Initial commit", env=env).strip()
            self._git(owner, name, "update-ref", f"refs/heads/{branch}", commit)

    def delete_all(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def branch_sha(self, owner: str, name: str, branch: str) -> str | None:
        try:
            return self._git(
                owner, name, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"
            ).strip()
        except GitError:
            return None

    def file_content(self, owner: str, name: str, ref: str, path: str) -> str | None:
        try:
            return self._git(owner, name, "show", f"{ref}:{path}")
        except GitError:
            return None

    def tree(self, owner: str, name: str, ref: str) -> list[tuple[str, str, str, str, int | None]] | None:
        """(mode, type, sha, path, size) of every entry under `ref`, recursively; None if `ref` is unknown."""
        try:
            out = self._git(owner, name, "ls-tree", "-r", "-t", "--long", "--full-tree", ref)
        except GitError:
            return None
        entries = []
        for line in out.splitlines():
            meta, _, path = line.partition("\t")
            mode, kind, sha, size = meta.split()
            entries.append((mode, kind, sha, path, int(size) if size.isdigit() else None))
        return entries

    def diff_stats(self, owner: str, name: str, base: str, head: str) -> DiffStats:
        commits = int(self._git(owner, name, "rev-list", "--count", f"{base}..{head}").strip() or 0)
        additions = deletions = changed = 0
        for line in self._git(owner, name, "diff", "--numstat", f"{base}...{head}").splitlines():
            added, deleted, _ = line.split("\t", 2)
            changed += 1
            # Binary files show "-" in numstat, as GitHub counts them: no line changes.
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        return DiffStats(commits, additions, deletions, changed)
