"""A small test CI: runs a repository's test command, sandboxed, on every pushed branch head, and
reports a real check run (in progress, then success or failure with output and annotations).

Trust boundary: the command runs the repository's code, which is not trusted. It runs under
bubblewrap with no network (all namespaces unshared), a cleared environment, the system and the
Python installation read-only, only a fresh checkout writable, and a timeout; nothing of the
emulator's data directory, tokens or host environment is visible. Without bubblewrap the CI refuses
to start unless the caller explicitly passes `sandbox=False`.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paid_github_emulator import checks_ops, repo_ops
from paid_github_emulator.checks_ops import CheckChange
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import Repo

CI_LOGIN = "test-ci"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/alternatives", "/etc/ld.so.cache")
# `path/to/file.py:12: message`, as pytest, mypy, ruff and compilers print it.
LOCATION = re.compile(r"^(?P<path>[\w./-]+):(?P<line>\d+):(?:\d+:)? (?P<message>.+)$")
MAX_ANNOTATIONS = 50  # GitHub accepts 50 per request
MAX_TEXT = 60_000


@dataclass(frozen=True)
class CIConfig:
    command: tuple[str, ...]
    name: str = "tests"
    timeout: float = 300.0
    sandbox: bool = True


@dataclass(frozen=True)
class _Job:
    repo: Repo
    sha: str
    config: CIConfig


def bwrap_args(checkout: Path) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("the test CI sandbox needs bubblewrap (apt-get install bubblewrap)")
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-all", "--clearenv"]
    for path in (
        *SYSTEM_DIRS,
        sys.prefix,
        sys.base_prefix,
        str(Path(sys.executable).resolve().parent.parent),
    ):
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    args += ["--bind", str(checkout), str(checkout), "--chdir", str(checkout)]
    for key, value in {"HOME": "/tmp", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}.items():
        args += ["--setenv", key, value]
    return [*args, "--"]


def failure_annotations(output: str, checkout: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for line in output.splitlines():
        match = LOCATION.match(line.strip())
        if not match:
            continue
        path = match["path"].removeprefix(f"{checkout}/").removeprefix("./")
        key = (path, int(match["line"]))
        if key in seen or not (checkout / path).is_file() or len(found) >= MAX_ANNOTATIONS:
            continue
        seen.add(key)
        found.append(
            {
                "path": path,
                "start_line": key[1],
                "end_line": key[1],
                "annotation_level": "failure",
                "message": match["message"],
            }
        )
    return found


class TestCI:
    """One worker thread; a job per pushed head of a repository that has a CI configured."""

    __test__ = False  # not a pytest test class

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.configs: dict[str, CIConfig] = {}
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def configure(self, repo: Repo, config: CIConfig) -> None:
        if config.sandbox and shutil.which("bwrap") is None:
            raise RuntimeError("the test CI sandbox needs bubblewrap; pass sandbox=False to run unsandboxed")
        repo_ops.add_user(self.hub, CI_LOGIN)
        self.configs[repo.full_name.lower()] = config
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="github-emulator-test-ci", daemon=True)
            self._thread.start()

    def pushed(self, repo: Repo, ref: str, after: str | None) -> None:
        config = self.configs.get(repo.full_name.lower())
        if config is not None and after is not None and ref.startswith("refs/heads/"):
            self._jobs.put(_Job(repo, after, config))

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._check(job)

    def _check(self, job: _Job) -> None:
        actor = self.hub.user(CI_LOGIN)
        running = CheckChange(status="in_progress", title="Running", summary=" ".join(job.config.command))
        run = checks_ops.create_check_run(
            self.hub, job.repo, actor, name=job.config.name, head_sha=job.sha, change=running
        )
        with tempfile.TemporaryDirectory(prefix="emu-ci-") as scratch:
            checkout = Path(scratch)
            archive = self.hub.git.run_bytes(
                job.repo.owner, job.repo.name, "archive", "--format=tar", job.sha
            )
            subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive, check=True)
            passed, output = self._execute(job.config, checkout)
            found = failure_annotations(output, checkout)
        last = [line for line in output.splitlines() if line.strip()][-1:] or ["(no output)"]
        done = CheckChange(
            conclusion="success" if passed else "failure",
            title=last[0][:200],
            summary=f"`{' '.join(job.config.command)}` {'passed' if passed else 'failed'}",
            text=f"```\n{output[-MAX_TEXT:]}\n```",
            annotations=[] if passed else found,
        )
        checks_ops.update_check_run(self.hub, job.repo, actor, run.id, done)

    @staticmethod
    def _execute(config: CIConfig, checkout: Path) -> tuple[bool, str]:
        argv = [*(bwrap_args(checkout) if config.sandbox else []), *config.command]
        try:
            result = subprocess.run(
                argv, cwd=checkout, capture_output=True, text=True, timeout=config.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            partial = exc.stdout if isinstance(exc.stdout, str) else ""
            return False, f"{partial}\ntimed out after {config.timeout:g}s"
        return result.returncode == 0, result.stdout + result.stderr
