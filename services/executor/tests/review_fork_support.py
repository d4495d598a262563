"""A fork's pull request on the emulator for review mode's tests, with hostile content, and the
agent that reviews it while probing its sandbox."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx

from paid_contracts import RepoRef
from paid_github_emulator.git_repos import git_env
from paid_github_emulator.server import GitHubEmulator

from .conftest import TOKEN
from .review_support import LONG_FILE

FRAN = "ghp_fran_fork_token"  # the fork's author, read-only on the base repository
RITA = "ghp_rita_write_token"  # a trusted user (write access)
CANARY = "paid-review-canary"  # a file the fork's hooks and filters would create if they ran

# Runs in the sandbox; its findings' summary carries what it saw, so the test reads it in the review.
PROBING_AGENT = r"""
import json, os, pathlib, subprocess
tree = pathlib.Path(os.environ["PAID_REVIEW_TREE"])
findings = pathlib.Path(os.environ["PAID_FINDINGS_FILE"])
seen = {"env_names": sorted(os.environ)}
TOKENS = ("ghp_", "ghs_", "x-access-token")
seen["token_like_values"] = [k for k, v in os.environ.items() if any(t in v for t in TOKENS)]
seen["tree_files"] = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
seen["git_dir_in_tree"] = (tree / ".git").exists()
try:
    (tree / "notes.py").write_text("changed")
    seen["edit"] = "done"
except OSError as error:
    seen["edit"] = type(error).__name__
seen["token_in_tree"] = any(
    t in p.read_text(errors="replace") for p in tree.rglob("*") if p.is_file() for t in TOKENS
)
work = pathlib.Path("pushed")
subprocess.run(["git", "init", "-q", str(work)], capture_output=True)
(work / "x").write_text("x")
subprocess.run(["git", "-C", str(work), "add", "x"], capture_output=True)
who = ["-c", "user.name=a", "-c", "user.email=a@b"]
subprocess.run(["git", "-C", str(work), *who, "commit", "-qm", "x"], capture_output=True)
seen["push"] = subprocess.run(
    ["git", "-C", str(work), "push", "__URL__", "HEAD:refs/heads/main"],
    capture_output=True, timeout=30,
).returncode
seen["prompt_has_diff"] = "line_15 = 1500" in pathlib.Path(os.environ["PAID_PROMPT_FILE"]).read_text()
findings.write_text(json.dumps({"summary": "SEEN " + json.dumps(seen), "findings": [
    {"path": "notes.py", "line": 15, "body": "1500 looks like a typo"},
    {"path": "notes.py", "line": 2, "body": "outside the diff: goes to the body"}]}))
"""


def git(cwd: Path, *args: str) -> str:
    env = git_env({"GIT_AUTHOR_NAME": "Fran", "GIT_AUTHOR_EMAIL": "fran@x.test"})
    env |= {"GIT_COMMITTER_NAME": "Fran", "GIT_COMMITTER_EMAIL": "fran@x.test"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def review_world(emulator: GitHubEmulator) -> RepoRef:
    """alice's repository (alice's token stands for Paid's); rita may write, fran only read."""
    emulator.add_user("alice", TOKEN)
    emulator.add_user("rita", RITA)
    emulator.add_user("fran", FRAN)
    name = f"notes-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"notes.py": LONG_FILE})
    emulator.set_permission("alice", name, "rita", "write")
    return RepoRef(owner="alice", name=name)


def hostile_fork_pull(
    emulator: GitHubEmulator, repo: RepoRef, workdir: Path, canary: Path
) -> tuple[int, Path]:
    """fran's pull request from her fork, changing line 15 of notes.py, with hooks, a filter
    attribute and links that would reach `canary` or the host if anything honoured them; its number
    and fran's checkout."""
    forked = httpx.post(
        f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/forks", headers={"Authorization": f"token {FRAN}"}
    )
    assert forked.status_code == 202, forked.text
    git(workdir, "clone", "-q", emulator.git_url("fran", repo.name, FRAN), "fork")
    checkout = workdir / "fork"
    git(checkout, "switch", "-q", "-c", "typo")
    (checkout / "notes.py").write_text(LONG_FILE.replace("line_15 = 15\n", "line_15 = 1500\n"))
    (checkout / ".gitattributes").write_text("* filter=pwn diff=pwn merge=pwn\nnotes.py export-ignore\n")
    hooks = checkout / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "post-merge", "pre-push"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {canary}\n")
        (hooks / hook).chmod(0o755)
    (checkout / ".gitmodules").write_text(
        f'[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% {canary}\n'
    )
    (checkout / "host-passwd").symlink_to("/etc/passwd")  # absolute: out of the tree
    (checkout / "up").symlink_to("../../../../etc/hostname")  # relative, but out of the tree
    (checkout / "same").symlink_to("notes.py")  # stays inside: kept
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "Fix a typo")
    git(checkout, "push", "-q", "origin", "typo")
    opened = httpx.post(
        f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/pulls",
        headers={"Authorization": f"token {FRAN}"},
        json={"title": "Fix a typo", "head": "fran:typo", "base": "main"},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["head"]["repo"]["fork"] is True
    return int(opened.json()["number"]), checkout
