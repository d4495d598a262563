"""Git in a run's working copy: clone, branch, commit and push, authenticated without the token
appearing in URLs, argv or logs."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class GitError(RuntimeError):
    pass


def sanitise(name: str) -> str:
    """`exec:owner/repo#7` -> `exec_owner_repo_7`: one path segment, no traversal."""
    return SAFE_NAME.sub("_", name).strip("._") or "_"


def hermetic_git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """No user or system git config, no prompts; the caller's other variables pass through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    return env | (extra or {})


def auth_header_config(token: str) -> dict[str, str]:
    """`http.extraHeader` through git's environment config (git >= 2.31) rather than `-c`, which
    would put the token in the process's argv for any local user to read."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


class Worktree:
    def __init__(self, path: Path, *, token: str, identity: Identity) -> None:
        self.path = path
        self._env = hermetic_git_env(auth_header_config(token) | identity.env())

    async def git(self, *args: str, cwd: Path | None = None) -> str:
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd or self.path,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise GitError(
                f"git {args[0]} failed ({process.returncode}): {err.decode(errors='replace').strip()}"
            )
        return out.decode()

    async def fresh_clone(self, url: str) -> None:
        """Clones beside the worktree, then replaces whatever an earlier attempt left: the step is
        idempotent as a whole, and an attempt still running after a timeout never sees a half clone."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}"
        try:
            await self.git("clone", "--quiet", "--no-tags", url, str(staging), cwd=self.path.parent)
            if self.path.exists():
                shutil.rmtree(self.path)
            staging.rename(self.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    async def head(self) -> str:
        return (await self.git("rev-parse", "HEAD")).strip()

    async def current_branch(self) -> str:
        return (await self.git("rev-parse", "--abbrev-ref", "HEAD")).strip()

    async def checkout_new_branch(self, branch: str) -> None:
        await self.git("checkout", "--quiet", "-B", branch)

    async def commit_all(self, message: str) -> bool:
        """Stages everything the agent changed and commits it; False when there was nothing to commit."""
        await self.git("add", "-A")
        if not (await self.git("status", "--porcelain")).strip():
            return False
        await self.git("commit", "--quiet", "--no-verify", "-m", message)
        return True

    async def changed_files(self, base: str) -> list[str]:
        return [line for line in (await self.git("diff", "--name-only", base, "HEAD")).splitlines() if line]

    async def force_push(self, branch: str) -> None:
        await self.git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
