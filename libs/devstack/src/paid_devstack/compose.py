"""Paid as deploy/compose.yml runs it on a Docker engine, driven from the host: one compose project with
its own name, volumes and host ports, the GitHub emulator (profile demo) and its admin API. Used by
tests/docker and by anyone who wants the compose stack from Python."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from paid_devstack.demo_repo import BOT, BUILD_LABEL, CALC_BUGGY, MAINTAINER, README, TESTS, issue_body
from paid_devstack.nats_credentials import NatsCredentials, password_variable
from paid_devstack.ports import free_port
from paid_devstack.processes import wait_until
from paid_runtime.database_roles import SERVICE_SCHEMAS

Json = dict[str, Any]


class EngineMissingError(RuntimeError):
    pass


def require_engine() -> None:
    """Raises with the command that fixes it when the docker CLI, compose or the engine is missing."""
    if shutil.which("docker") is None:
        raise EngineMissingError("docker CLI missing: run deploy/engine/install")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode:
        raise EngineMissingError("docker compose plugin missing: run deploy/engine/install")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode:
        raise EngineMissingError("no Docker engine answers: run deploy/engine/start-dockerd")


class ComposeStack:
    """One compose project (its own name, volumes and host ports) from deploy/compose.yml."""

    def __init__(
        self,
        compose_file: Path,
        home: Path,
        *,
        executors: int = 1,
        agent_command: str = "",
        services: tuple[str, ...] = (),
        overrides: tuple[Path, ...] = (),
    ) -> None:
        """`services`: start only these (with what they depend on); all of them when empty. `overrides`:
        compose files merged over `compose_file`, in order (e.g. deploy/compose.ha.yml)."""
        self.compose_file = compose_file
        self.overrides = overrides
        self.services = services
        self.project = f"paid-test-{secrets.token_hex(3)}"
        self.executors = executors
        self.webhook_secret = secrets.token_hex(20)
        self.ports = {
            name: free_port()
            for name in ("gateway", "temporal", "ui", "nats", "nats-2", "nats-3", "phoenix", "github")
        }
        self.env_file = home / "compose.env"
        self.bot_token = f"ghp_{secrets.token_hex(18)}"
        self.admin_token = f"paid_{secrets.token_urlsafe(32)}"
        env = {
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "PAID_WEBHOOK_SECRET": self.webhook_secret,
            "PAID_GITHUB_TOKEN": self.bot_token,
            "PAID_ADMIN_TOKEN": self.admin_token,
            "PAID_SECRETS_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "PAID_GITHUB_API_URL": "http://github-emulator:8765/api/v3",
            "PAID_EXECUTOR_AGENT": "command" if agent_command else "demo",
            "PAID_EXECUTOR_AGENT_COMMAND": agent_command,
            "PAID_GATEWAY_PORT": str(self.ports["gateway"]),
            "PAID_TEMPORAL_PORT": str(self.ports["temporal"]),
            "PAID_TEMPORAL_UI_PORT": str(self.ports["ui"]),
            "PAID_NATS_MONITOR_PORT": str(self.ports["nats"]),
            "PAID_NATS_2_MONITOR_PORT": str(self.ports["nats-2"]),
            "PAID_NATS_3_MONITOR_PORT": str(self.ports["nats-3"]),
            "PAID_PHOENIX_PORT": str(self.ports["phoenix"]),
            "PAID_GITHUB_EMULATOR_PORT": str(self.ports["github"]),
            "PAID_EVOLUTION_API_TOKEN": secrets.token_urlsafe(32),
            **{
                password_variable(user): password
                for user, password in NatsCredentials.generate().passwords.items()
            },
            **{f"PAID_DB_{service.upper()}_PASSWORD": secrets.token_hex(24) for service in SERVICE_SCHEMAS},
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.admin = httpx.Client(base_url=f"http://127.0.0.1:{self.ports['github']}/_emulator", timeout=30)

    def compose(self, *args: str, timeout: float = 900) -> str:
        argv = ["docker", "compose", "-p", self.project, "-f", str(self.compose_file)]
        for override in self.overrides:
            argv += ["-f", str(override)]
        argv += ["--env-file", str(self.env_file), "--profile", "demo", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAID_", "POSTGRES_"))}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def up(self) -> None:
        scale = ("--scale", f"executor={self.executors}")
        self.compose("up", "-d", "--wait", "--wait-timeout", "600", *scale, *self.services)

    def logs(self) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", "200", timeout=120)
        except Exception as error:
            return f"(no logs: {error})"

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=300)

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).split()

    # The emulator's admin API: what a maintainer does on GitHub.
    def post(self, path: str, body: Json) -> Any:
        response = self.admin.post(path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def seed_repository(self, owner: str, repo: str) -> None:
        self.post("/users", {"login": MAINTAINER, "name": "Alice Maintainer"})
        self.post(
            "/repos",
            {
                "owner": owner,
                "name": repo,
                "files": {"calc.py": CALC_BUGGY, "test_calc.py": TESTS, "README.md": README},
            },
        )
        for login, permission in ((BOT, "write"), (MAINTAINER, "admin")):
            response = self.admin.put(
                f"/repos/{owner}/{repo}/collaborators/{login}", json={"permission": permission}
            )
            response.raise_for_status()
        self.post(
            f"/repos/{owner}/{repo}/hooks",
            {
                "url": "http://gateway:8100/webhooks/github",
                "secret": self.webhook_secret,
                "events": ["issues", "issue_comment"],
            },
        )

    def register_project(self, owner: str, repo: str, *, poll_interval_seconds: float) -> None:
        """A project in the gateway's registry, which the poller polls: what it publishes covers the
        labelings whose webhooks were refused (GitHub does not retry a failed delivery)."""
        response = httpx.post(
            f"http://127.0.0.1:{self.ports['gateway']}/api/projects",
            json={
                "repository": f"{owner}/{repo}",
                "token": self.bot_token,
                "poll_interval_seconds": poll_interval_seconds,
            },
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        if response.status_code != 201:
            raise RuntimeError(f"registering {owner}/{repo}: {response.status_code} {response.text}")

    def sql(self, query: str) -> str:
        """One query as PostgreSQL's superuser inside its container; its rows, unaligned."""
        return self.compose("exec", "-T", "postgres", "psql", "-U", "paid", "-d", "paid", "-tAc", query)

    def open_labeled_issue(self, owner: str, repo: str, title: str = "add() subtracts") -> int:
        issue = self.post(
            f"/repos/{owner}/{repo}/issues", {"title": title, "body": issue_body(), "as_user": MAINTAINER}
        )
        number = int(issue["number"])
        self.post(
            f"/repos/{owner}/{repo}/issues/{number}/labels", {"labels": [BUILD_LABEL], "as_user": MAINTAINER}
        )
        return number

    def pulls(self, owner: str, repo: str) -> list[Json]:
        response = self.admin.get(f"/repos/{owner}/{repo}/pulls", params={"state": "all"})
        response.raise_for_status()
        pulls: list[Json] = response.json()
        return pulls

    def issue_comments(self, owner: str, repo: str, number: int) -> list[Json]:
        response = self.admin.get(f"/repos/{owner}/{repo}/issues/{number}/comments")
        response.raise_for_status()
        comments: list[Json] = response.json()
        return comments

    def wait_for_pulls(self, owner: str, repo: str, count: int, timeout: float) -> list[Json]:
        wait_until(
            lambda: len(self.pulls(owner, repo)) >= count,
            timeout=timeout,
            what=f"{count} pull requests on {owner}/{repo}",
        )
        return self.pulls(owner, repo)

    def __enter__(self) -> Self:
        require_engine()
        try:
            self.up()
        except BaseException:
            print(self.logs())
            self.down()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            print(self.logs())
        self.down()
