"""Paid running against the GitHub emulator: what the demo, the integration tests and the benchmarks
share. Everything is real (servers, services, git, HTTP webhooks); only GitHub itself is emulated."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from paid_devstack.demo_repo import (
    BOT,
    BUILD_LABEL,
    ISSUE_EVENTS,
    MAINTAINER,
    DemoIssue,
    seed_demo_repository,
)
from paid_devstack.platform import SERVICES, PaidPlatform, PlatformConfig
from paid_devstack.processes import wait_until
from paid_github_emulator import GitHubEmulator

Json = dict[str, Any]


class EmulatedPaid:
    def __init__(
        self,
        home: Path,
        *,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        otlp_endpoint: str | None = None,
        services: tuple[str, ...] = SERVICES,
        temporal_target: str | None = None,
    ) -> None:
        """`temporal_target`: a Temporal of the caller's (e.g. behind a TLS front, whose access settings
        then come in `service_env`) instead of a development server started here."""
        self.home = home
        self.bot_token = f"ghp_{secrets.token_hex(18)}"
        self.maintainer_token = f"ghp_{secrets.token_hex(18)}"
        self.webhook_secret = secrets.token_hex(20)
        self.github = GitHubEmulator(home / "github")
        self._service_env = {name: dict(env) for name, env in (service_env or {}).items()}
        self._otlp_endpoint = otlp_endpoint
        self._services = services
        self._temporal_target = temporal_target
        self._platform: PaidPlatform | None = None

    @property
    def platform(self) -> PaidPlatform:
        if self._platform is None:
            raise RuntimeError("EmulatedPaid is not started")
        return self._platform

    def start(self) -> None:
        self.github.start()
        self.github.add_user(BOT, self.bot_token, name="Paid")
        self.github.add_user(MAINTAINER, self.maintainer_token, name="Alice Maintainer")
        config = PlatformConfig(
            home=self.home,
            github_api_url=self.github.api_url,
            github_token=self.bot_token,
            webhook_secret=self.webhook_secret,
            otlp_endpoint=self._otlp_endpoint,
            service_env=self._service_env,
            services=self._services,
            temporal_target=self._temporal_target,
        )
        self._platform = PaidPlatform(config)
        try:
            self._platform.start()
        except BaseException:
            self.github.stop()
            raise

    def stop(self) -> None:
        if self._platform is not None:
            self._platform.stop()
        self.github.stop()

    def create_repository(
        self, owner: str, repo: str, *, hook_events: tuple[str, ...] = ISSUE_EVENTS
    ) -> DemoIssue:
        """A repository owned by the maintainer, with a failing test and an issue describing the fix."""
        issue = seed_demo_repository(
            self.github,
            owner=owner,
            repo=repo,
            webhook_url=self.platform.webhook_url,
            webhook_secret=self.webhook_secret,
            hook_events=hook_events,
        )
        self.github.set_permission(owner, repo, MAINTAINER, "admin")
        return issue

    def label(self, issue: DemoIssue, label: str = BUILD_LABEL, *, as_user: str = MAINTAINER) -> None:
        self.github.add_labels(issue.owner, issue.repo, issue.number, [label], as_user=as_user)

    def pulls(self, issue: DemoIssue) -> list[Json]:
        return self.github.pulls(issue.owner, issue.repo, state="all")

    def wait_for_pull(self, issue: DemoIssue, timeout: float = 180.0) -> Json:
        wait_until(
            lambda: bool(self.pulls(issue)), timeout=timeout, what=f"a pull request for {issue.html_url}"
        )
        return self.pulls(issue)[0]

    def wait_for_result_comment(self, issue: DemoIssue, timeout: float = 180.0) -> Json:
        def result_comments() -> list[Json]:
            return [
                c
                for c in self.github.comments(issue.owner, issue.repo, issue.number)
                if ":result -->" in str(c.get("body", ""))
            ]

        wait_until(lambda: bool(result_comments()), timeout=timeout, what="the run's result comment")
        return result_comments()[0]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
