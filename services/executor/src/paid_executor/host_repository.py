"""The host's own git repository for a run: a bare repository beside the worktree, outside anything a
sandbox mounts, that only the host writes. Every git command here runs with that repository as
GIT_DIR, never in the agent's worktree, with hooks, fsmonitor, attributes and user or system config
off; its base comes from the host's mirror (repository_cache.py), and it pushes with the URL and token
the host was given, never a remote the agent configured."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from paid_executor.repo_config import READ_FILES, REGULAR_MODES, RepoFiles
from paid_executor.workspace import GitError, Identity, auth_header_config

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# `-c` settings on every command: none of them may come from a file the agent could have written.
HARDENING = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.attributesFile=/dev/null",
    "core.excludesFile=/dev/null",
    f"attr.tree={EMPTY_TREE}",  # git >= 2.40 reads a bare repository's attributes from HEAD otherwise
    "credential.helper=",
    "protocol.ext.allow=never",
)


def host_git_env(git_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: nothing of the worker's settings (database URL, tokens) is passed on,
    and git reads no configuration but the host repository's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "GIT_DIR": str(git_dir),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "HOME": str(git_dir),  # nothing git could find there but what the host wrote
    } | (extra or {})


def hardened(*args: str) -> list[str]:
    return ["git", *[part for setting in HARDENING for part in ("-c", setting)], *args]


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # 100644, 100755, 120000 (a link), 160000 (a gitlink)
    object_id: str


@dataclass(frozen=True)
class MergedBase:
    commit: str  # parents: head, base; its tree has conflict markers where the two conflict
    head: str
    base: str
    conflicts: tuple[str, ...]


class HostRepository:
    def __init__(self, git_dir: Path, *, identity: Identity) -> None:
        self.git_dir = git_dir
        self.identity = identity

    async def git(
        self,
        *args: str,
        stdin: bytes | None = None,
        extra_env: dict[str, str] | None = None,
        token: str | None = None,
        accept: tuple[int, ...] = (0,),
    ) -> bytes:
        """`token`: sent as the HTTP Authorization header (fetch and push); never in argv or a URL.
        `accept`: the exit codes that are answers rather than failures."""
        env = host_git_env(self.git_dir, self.identity.env() | (extra_env or {}))
        if token is not None:
            env |= auth_header_config(token)
        process = await asyncio.create_subprocess_exec(
            *hardened(*args),
            cwd=self.git_dir.parent,  # host-owned; never the worktree
            env=env,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(stdin)
        if process.returncode not in accept:
            raise GitError(
                f"git {args[0]} failed ({process.returncode}): {err.decode(errors='replace').strip()}"
            )
        return out

    async def attach_base(self, mirror: Path, base: str) -> None:
        """A fresh bare repository whose base is `base` of the host's mirror (repository_cache): it
        borrows the mirror's objects through alternates, so nothing is copied, and writes its own (the
        imported change) into its own object directory; the mirror is only read."""
        if self.git_dir.exists():
            await asyncio.to_thread(shutil.rmtree, self.git_dir, True)
        self.git_dir.parent.mkdir(parents=True, exist_ok=True)
        # HEAD names the base's branch from the start: the agent's copy (check_out) clones it.
        await self.git(
            "init", "--quiet", "--bare", "--template=", "--initial-branch=paid-base", str(self.git_dir)
        )
        alternates = self.git_dir / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(f"{(mirror / 'objects').resolve()}\n")
        updates = f"update refs/paid/base {base}\nupdate refs/heads/paid-base {base}\n"
        await self.git("update-ref", "--stdin", stdin=updates.encode())  # one process, not two

    async def check_out(self, worktree: Path, work_branch: str, public_url: str) -> None:
        """Gives the agent a repository of its own to work in: the base commit alone (shallow), sent
        over git's pack protocol, so the copy has its own objects and no alternates into the host's
        repository or its mirror. The host never uses it again."""
        source = self.git_dir.resolve().as_uri()  # file://: a local path would copy the object files
        worktree.parent.mkdir(parents=True, exist_ok=True)
        await self._in_copy(
            worktree.parent, "clone", "--quiet", "--depth=1", "--template=", source, str(worktree)
        )
        await self.start_branch(worktree, work_branch, public_url)

    async def start_branch(self, worktree: Path, work_branch: str, public_url: str) -> None:
        """Puts a copy of the base (check_out's, or an overlay over one) on the run's branch: refs
        only, since the files are the base's already (a checkout would stat every one of them)."""
        await self._in_copy(worktree, "update-ref", f"refs/heads/{work_branch}", "HEAD")
        await self._in_copy(worktree, "symbolic-ref", "HEAD", f"refs/heads/{work_branch}")
        await self._in_copy(worktree, "config", "remote.origin.url", public_url)

    async def tolerate_moved_files(self, worktree: Path) -> None:
        """For a copy seen through an overlay: inode and device numbers differ from the ones its
        index recorded, which would make git re-read every file on the agent's first `git status`."""
        await self._in_copy(worktree, "config", "core.checkStat", "minimal")
        await self._in_copy(worktree, "config", "core.trustctime", "false")

    async def resolve_in_copy(self, worktree: Path, revision: str) -> str:
        out = await self._in_copy(worktree, "rev-parse", "--verify", f"{revision}^{{commit}}")
        return out.decode().strip()

    async def _in_copy(self, cwd: Path, *args: str) -> bytes:
        """git in the agent's copy: the host's own until the agent first runs, so git may work in it."""
        env = {k: v for k, v in host_git_env(self.git_dir).items() if k != "GIT_DIR"}
        process = await asyncio.create_subprocess_exec(
            *hardened(*args),
            cwd=cwd,
            env=env | self.identity.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise GitError(f"git {args[0]} failed ({process.returncode}): {err.decode(errors='replace')}")
        return out

    async def resolve(self, revision: str) -> str:
        return (await self.git("rev-parse", "--verify", f"{revision}^{{commit}}")).decode().strip()

    async def entries(self, revision: str) -> dict[str, TreeEntry]:
        """Every path of a commit's tree with its mode, without reading the objects."""
        listing = await self.git("ls-tree", "-r", "-z", "--full-tree", revision)
        entries = {}
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, _, object_id = meta.decode().split(" ")
            entries[path.decode(errors="surrogateescape")] = TreeEntry(mode=mode, object_id=object_id)
        return entries

    async def repo_files(self, revision: str) -> RepoFiles:
        """What .paid.yml and detection read, from a commit of this repository only."""
        entries = await self.entries(revision)
        contents = {
            path: await self.git("cat-file", "blob", entries[path].object_id)
            for path in READ_FILES
            if path in entries and entries[path].mode in REGULAR_MODES
        }
        return RepoFiles(modes={path: entry.mode for path, entry in entries.items()}, contents=contents)

    async def changed_paths(self, base: str, head: str) -> list[str]:
        listing = await self.git("diff-tree", "-r", "-z", "--no-renames", "--name-only", base, head)
        return [path.decode(errors="surrogateescape") for path in listing.split(b"\0") if path]

    async def diff(self, base: str, head: str, *options: str) -> str:
        out = await self.git("diff", "--no-color", "--no-ext-diff", "--no-textconv", *options, base, head)
        return out.decode(errors="replace")

    async def push(self, url: str, commit: str, branch: str, *, token: str) -> None:
        await self.git("push", "--quiet", "--force", url, f"{commit}:refs/heads/{branch}", token=token)

    async def fetch_head(self, url: str, branch: str, *, token: str) -> str:
        """After attach_base: moves the branch check_out copies to `branch` of `url` (a pull request's
        head, for a follow-up round) and answers its commit; the base stays in refs/paid/base."""
        await self.git(
            "fetch",
            "--quiet",
            "--no-tags",
            url,
            f"+refs/heads/{branch}:refs/paid/head",
            f"+refs/heads/{branch}:refs/heads/paid-base",
            token=token,
        )
        return await self.resolve("refs/paid/head")

    async def merge_base_into(self, head: str, base: str) -> MergedBase:
        """`base` merged into `head` here, in the host's repository (git's own merge, no driver the
        repository names: attributes come from the empty tree). Where they conflict, the files carry
        git's markers; the commit (parents head, then base) is what the agent's copy starts from."""
        out = await self.git("merge-tree", "--write-tree", "--name-only", "-z", head, base, accept=(0, 1))
        listing, _, _messages = out.partition(b"\0\0")
        tree, *paths = listing.rstrip(b"\0").split(b"\0")
        conflicts = tuple(dict.fromkeys(path.decode(errors="surrogateescape") for path in paths if path))
        message = "Merge the base into the pull request's branch (conflicts left for the agent)"
        commit = await self.commit_tree(tree.decode(), (head, base), message)
        return MergedBase(commit=commit, head=head, base=base, conflicts=conflicts)

    async def commit_tree(self, tree: str, parents: tuple[str, ...], message: str) -> str:
        parent_args = [part for parent in parents for part in ("-p", parent)]
        out = await self.git("commit-tree", tree, *parent_args, stdin=message.encode())
        return out.decode().strip()

    async def push_onto(self, url: str, commit: str, branch: str, expected: str, *, token: str) -> None:
        """Pushes only while `branch` is still at `expected` (the head the host last saw): a commit
        someone else pushed in the meantime is never overwritten."""
        await self.git(
            "push",
            "--quiet",
            f"--force-with-lease=refs/heads/{branch}:{expected}",
            url,
            f"{commit}:refs/heads/{branch}",
            token=token,
        )

    async def remote_tree_is(self, url: str, branch: str, commit: str, *, token: str) -> str | None:
        """The remote head of `branch` when it holds the same tree on the same parent as `commit` (an
        earlier try of the same push went through), else None."""
        await self.git(
            "fetch", "--quiet", "--no-tags", url, f"+refs/heads/{branch}:refs/paid/remote", token=token
        )
        remote = await self.resolve("refs/paid/remote")
        same = await self.git(
            "rev-parse", f"{remote}^{{tree}}", f"{remote}^", f"{commit}^{{tree}}", f"{commit}^"
        )
        tree, parent, our_tree, our_parent = same.decode().split()
        return remote if (tree, parent) == (our_tree, our_parent) else None
