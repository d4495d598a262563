"""Git's environment for Paid: hermetic configuration, a token that never appears in URLs, argv or
logs, and the identity commits are made with. The git work itself is in host_repository.py."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

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
