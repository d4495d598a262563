"""Writing history in the bare repositories as GitHub does: refs, file commits, and the three merges."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from paid_github_emulator.git_repos import GitError, GitRepos, git_env

SEP = "\x1f"
COMMIT_FORMAT = SEP.join(["%H", "%T", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"])


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str, str]  # name, email, ISO date
    committer: tuple[str, str, str]
    message: str


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # GitHub's words: added, removed, modified, renamed
    previous_path: str | None
    additions: int
    deletions: int
    patch: str
    sha: str | None  # the blob at head; None when removed


STATUS_WORDS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "T": "changed"}


def identity(login: str) -> dict[str, str]:
    email = f"{login}@users.noreply.localhost"
    return {
        "GIT_AUTHOR_NAME": login,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": login,
        "GIT_COMMITTER_EMAIL": email,
    }


class GitHistory:
    def __init__(self, repos: GitRepos, owner: str, name: str) -> None:
        self.repos, self.owner, self.name = repos, owner, name

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return self.repos.run(self.owner, self.name, *args, env=env)

    # Refs
    def refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def resolve(self, rev: str) -> str | None:
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except GitError:
            return None

    def set_ref(self, ref: str, sha: str, *, old: str | None = None) -> None:
        self.git("update-ref", ref, sha, *([old] if old else []))

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.git("merge-base", "--is-ancestor", ancestor, descendant)
        except GitError:
            return False
        return True

    # Reading commits and diffs
    def commit(self, sha: str) -> CommitInfo:
        fields = self.git("show", "-s", f"--format={COMMIT_FORMAT}", sha).split(SEP)
        return CommitInfo(
            sha=fields[0],
            tree=fields[1],
            parents=tuple(fields[2].split()),
            author=(fields[3], fields[4], fields[5]),
            committer=(fields[6], fields[7], fields[8]),
            message=fields[9].rstrip("\n"),
        )

    def commits_between(self, base: str, head: str) -> list[CommitInfo]:
        """The commits a pull request adds, oldest first, as GitHub lists them."""
        shas = self.git("rev-list", "--reverse", f"{base}..{head}").split()
        return [self.commit(sha) for sha in shas]

    def changed_files(self, base: str, head: str) -> list[ChangedFile]:
        """The files a pull request changes against the merge base (GitHub's three-dot diff)."""
        spec = f"{base}...{head}"
        files = []
        for line in self.git("diff", "--name-status", "-M", spec).splitlines():
            code, *paths = line.split("\t")
            path, previous = paths[-1], (paths[0] if len(paths) == 2 else None)
            numstat = self.git("diff", "--numstat", spec, "--", *filter(None, [previous, path])).split("\t")
            added, deleted = (int(n) if n.isdigit() else 0 for n in numstat[:2])
            patch = self.git("diff", "--unified=3", spec, "--", *filter(None, [previous, path]))
            hunks = patch[patch.find("\n@@") + 1 :] if "\n@@" in patch else ""
            status = STATUS_WORDS.get(code[0], "modified")
            blob = None if status == "removed" else self.git("rev-parse", f"{head}:{path}").strip()
            files.append(ChangedFile(path, status, previous, added, deleted, hunks.rstrip("\n"), blob))
        return files

    # Writing
    def commit_tree(self, tree: str, parents: list[str], message: str, login: str) -> str:
        args = [arg for parent in parents for arg in ("-p", parent)]
        return self.git("commit-tree", tree, *args, "-m", message, env=identity(login)).strip()

    def put_file(self, branch: str, path: str, content: bytes, message: str, login: str) -> str:
        """Commit `content` at `path` on top of `branch` and move the branch; returns the new commit."""
        parent = self.resolve(f"refs/heads/{branch}")
        if parent is None:
            raise GitError(f"no branch {branch}")
        with tempfile.TemporaryDirectory(prefix="emu-put-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.git("read-tree", parent, env=env)
            blob = self._hash_blob(content)
            self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.git("write-tree", env=env).strip()
        sha = self.commit_tree(tree, [parent], message, login)
        self.set_ref(f"refs/heads/{branch}", sha, old=parent)
        return sha

    def _hash_blob(self, content: bytes) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.repos.path(self.owner, self.name)), "hash-object", "-w", "--stdin"],
            input=content,
            capture_output=True,
            env=git_env(),
            check=True,
        )
        return result.stdout.decode().strip()

    def merged_tree(self, base: str, head: str) -> str | None:
        """The tree of merging `head` into `base`, or None when they conflict."""
        try:
            return self.git("merge-tree", "--write-tree", base, head).split("\n", 1)[0]
        except GitError:
            return None

    def rebased(self, onto: str, head: str, login: str) -> str | None:
        """`head`'s commits replayed on `onto` (authors kept, `login` commits), or None on conflict."""
        committer = {k: v for k, v in identity(login).items() if k.startswith("GIT_COMMITTER")}
        env = git_env(committer)
        bare = str(self.repos.path(self.owner, self.name))
        with tempfile.TemporaryDirectory(prefix="emu-rebase-") as scratch:

            def scratch_git(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["git", "-C", scratch, *args], env=env, capture_output=True, text=True, check=False
                )

            subprocess.run(
                ["git", "clone", "--quiet", "--shared", "--no-checkout", bare, scratch],
                env=env,
                capture_output=True,
                check=True,
            )
            scratch_git("checkout", "--quiet", "--detach", head)
            # --force-rebase: GitHub writes new commits even when the base has not moved.
            if scratch_git("rebase", "--quiet", "--force-rebase", onto).returncode != 0:
                return None
            new_head = scratch_git("rev-parse", "HEAD").stdout.strip()
            # The scratch clone borrows the bare repository's objects; push back only the new ones.
            pushed = scratch_git("push", "--quiet", bare, f"{new_head}:refs/emulator/rebased")
            if pushed.returncode != 0:
                raise GitError(pushed.stderr)
            self.delete_ref("refs/emulator/rebased")
            return new_head
