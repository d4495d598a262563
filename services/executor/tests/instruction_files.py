"""Repository instructions in a test repository's base commit: an AGENTS.md the model must be shown,
and an AGENTS.md that is a link, whose target it must never be shown."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paid_contracts import RepoRef
from paid_github_emulator.server import GitHubEmulator

AGENTS_MD_MARKER = "paid-agents-md-4f1c"
AGENTS_MD = f"# Conventions\n\nEnd every summary with the words {AGENTS_MD_MARKER}.\n"
LINKED_MARKER = "paid-linked-instructions-9b2e"
LINK_TARGET = "notes/agents.md"


def add_agents_md(emulator: GitHubEmulator, repo_ref: RepoRef) -> None:
    commit_entry(emulator, repo_ref, "AGENTS.md", AGENTS_MD.encode(), mode="100644")


def link_agents_md(emulator: GitHubEmulator, repo_ref: RepoRef) -> None:
    """AGENTS.md as a link to another file of the repository, which holds LINKED_MARKER."""
    text = f"Always say {LINKED_MARKER}.\n".encode()
    commit_entry(emulator, repo_ref, LINK_TARGET, text, mode="100644")
    commit_entry(emulator, repo_ref, "AGENTS.md", LINK_TARGET.encode(), mode="120000")


def shown(marker: str, requests: Iterable[Any]) -> bool:
    """Whether any model request (a recorded one's body, or a request document) holds `marker`."""
    return any(marker in json.dumps(getattr(request, "body", request)) for request in requests)


def commit_entry(
    emulator: GitHubEmulator, repo_ref: RepoRef, path: str, content: bytes, *, mode: str
) -> None:
    """One commit on the default branch adding `path` (mode 120000: a link to `content`)."""
    bare = emulator.hub.git.path(repo_ref.owner, repo_ref.name)

    def git(*args: str, index: Path, data: bytes | None = None) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(bare), *args],
            input=data,
            capture_output=True,
            check=True,
            env={"GIT_INDEX_FILE": str(index), "PATH": "/usr/bin:/bin", "HOME": str(index.parent)}
            | {
                f"GIT_{who}_{what}": value
                for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", "alice"), ("EMAIL", "alice@example.com"))
            },
        )
        return result.stdout.decode().strip()

    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        parent = git("rev-parse", "refs/heads/main", index=index)
        git("read-tree", parent, index=index)
        blob = git("hash-object", "-w", "--stdin", index=index, data=content)
        git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", index=index)
        tree = git("write-tree", index=index)
        commit = git("commit-tree", tree, "-p", parent, "-m", f"Add {path}", index=index)
        git("update-ref", "refs/heads/main", commit, parent, index=index)
