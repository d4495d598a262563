"""Review mode's agent run: the pull request's head, pinned at the trigger, read by the agent in the
sandbox without any way to change it.

Trust boundary: the head may come from a fork, so it is hostile. The host fetches it with a read-only
token into a bare repository of its own (hardened git, as for every run) and exports the pinned
commit's files, with no `.git`, into a directory the sandbox mounts read-only. The agent's only
writable directory is an empty output directory; its environment is the prompt, the two paths and
nothing else: no token, no remote, no repository to push from. Only the findings file is read back,
as a regular file of bounded size (not a link), and parsed strictly (review_mode.py)."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.base import Invocation
from paid_executor.agents.process import run_agent_process
from paid_executor.host_repository import HostRepository
from paid_executor.review_mode import FINDINGS_FILE, MAX_FINDINGS_BYTES, ReviewFindingsError
from paid_executor.sandbox.base import Sandbox, SandboxRequest
from paid_executor.workspace import GitError, Identity

HOST_IDENTITY = Identity("Paid", "paid@localhost")  # commits nothing here; git wants one anyway


class HeadMovedError(GitError):
    """The pull request's head is no longer the commit pinned at the trigger."""


@dataclass(frozen=True)
class ReviewDirectories:
    root: Path  # host-owned; holds the three below
    host_git: Path  # the host's bare repository, never mounted
    tree: Path  # the pinned head's files, mounted read-only
    output: Path  # the agent's one writable directory

    @classmethod
    def under(cls, root: Path) -> ReviewDirectories:
        return cls(root, root / "host.git", root / "tree", root / "output")


async def export_pinned_head(
    directories: ReviewDirectories, *, clone_url: str, ref: str, pinned_sha: str, token: str
) -> None:
    """Fetches `ref` of `clone_url` (a fork's branch, or the base repository's) with a read-only
    `token` and writes the pinned commit's files into `directories.tree`; refuses a head that moved."""
    host = HostRepository(directories.host_git, identity=HOST_IDENTITY)
    directories.root.mkdir(parents=True, exist_ok=True)
    await host.git("init", "--quiet", "--bare", "--template=", str(directories.host_git))
    await host.git("fetch", "--quiet", "--no-tags", clone_url, f"+{ref}:refs/paid/review", token=token)
    fetched = (await host.git("rev-parse", "--verify", "refs/paid/review^{commit}")).decode().strip()
    if fetched != pinned_sha:
        raise HeadMovedError(f"{ref} is at {fetched[:12]}, not {pinned_sha[:12]} as pinned at the trigger")
    # In a bare repository `--worktree-attributes` reads no attributes at all: the head's own
    # .gitattributes (export-ignore, export-subst) decides nothing about what the agent sees.
    archive = await host.git("archive", "--worktree-attributes", "--format=tar", pinned_sha)
    await asyncio.to_thread(_extract, archive, directories.tree)
    directories.output.mkdir()


def _inside_only(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """tarfile's `data` filter (no absolute paths, no `..`, no links out of the tree, no devices), but a
    member it refuses is left out rather than failing the export: a fork's link to `/etc/passwd` is
    hostile content to skip, not a reason to review nothing."""
    try:
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError:
        return None


def _extract(archive: bytes, tree: Path) -> None:
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter=_inside_only)  # noqa: S202 (the filter is tarfile's data filter)
    for directory, _, files in os.walk(tree):
        for name in files:
            path = Path(directory, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)


async def run_review_agent(
    sandbox: Sandbox,
    invocation: Invocation,
    directories: ReviewDirectories,
    *,
    run_key: str,
    prompt_file: Path,
    timeout: float,
    extra_env: Mapping[str, str] | None = None,
) -> int:
    """Runs the agent confined to the output directory, the tree read-only; answers its exit code."""
    env = {
        "PAID_PROMPT_FILE": str(prompt_file),
        "PAID_REVIEW_TREE": str(directories.tree),
        "PAID_FINDINGS_FILE": str(directories.output / FINDINGS_FILE),
    } | dict(extra_env or {})
    request = SandboxRequest(
        run_key=run_key, worktree=directories.output, env=env, read_only=(directories.tree, prompt_file)
    )
    prepared = sandbox.prepare(invocation, request)
    try:
        outcome = await run_agent_process(
            prepared.invocation,
            cwd=directories.output,
            base_env={},
            timeout=timeout,
            pgid_file=directories.root / "agent.pgid",
            on_progress=lambda _line: None,
            limits=prepared.limits,
        )
    finally:
        sandbox.release(prepared)
    return outcome.exit_code


def read_findings_file(directories: ReviewDirectories) -> bytes:
    """The findings file's bytes: a regular file (never followed through a link), bounded in size."""
    path = directories.output / FINDINGS_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise ReviewFindingsError(f"the agent wrote no {FINDINGS_FILE}") from error
    except OSError as error:
        raise ReviewFindingsError(f"{FINDINGS_FILE} cannot be read as a file: {error}") from error
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ReviewFindingsError(f"{FINDINGS_FILE} is not a regular file")
    with os.fdopen(fd, "rb") as file:
        return file.read(MAX_FINDINGS_BYTES + 1)
