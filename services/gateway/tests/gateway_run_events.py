"""Run events as the executor publishes them, for the gateway's tests."""

from __future__ import annotations

import uuid
from typing import Any

from paid_contracts import (
    Correlation,
    IssueRef,
    PullRequestOpened,
    RepoRef,
    RunFinished,
    RunOutcome,
    RunOutputAppended,
    RunStarted,
    TraceContext,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class RunScript:
    """The events of one run on a fresh repository."""

    def __init__(self, repo: str | None = None, number: int = 7, run_id: str | None = None) -> None:
        owner, name = (repo or f"acme/calc-{uuid.uuid4().hex[:8]}").split("/")
        self.issue = IssueRef(repo=RepoRef(owner=owner, name=name), number=number)
        self.run_id = run_id or str(uuid.uuid4())
        self.workflow_id = f"exec:{self.issue.key}"
        self.correlation = Correlation(repo=self.issue.repo.full_name, issue=number, run=self.run_id)

    def started(self) -> RunStarted:
        return RunStarted(
            event_id=f"{self.run_id}:started",
            producer="executor",
            correlation=self.correlation,
            trace=TraceContext(traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01"),
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            issue=self.issue,
            agent="demo",
            prompt_version="build-v1",
        )

    def output(self, sequence: int, *lines: str, attempt: int = 1) -> RunOutputAppended:
        return RunOutputAppended(
            event_id=f"{self.run_id}:output:{attempt}:{sequence}",
            producer="executor",
            correlation=self.correlation,
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            issue=self.issue,
            attempt=attempt,
            sequence=sequence,
            lines=lines,
        )

    def pull_request(self) -> PullRequestOpened:
        return PullRequestOpened(
            event_id=f"{self.run_id}:pr",
            producer="executor",
            correlation=self.correlation,
            run_id=self.run_id,
            issue=self.issue,
            number=3,
            url=f"http://github.test/{self.issue.repo.full_name}/pull/3",
            branch="paid/issue-7",
            head_sha="abc123",
        )

    def finished(
        self, outcome: RunOutcome = RunOutcome.SUCCEEDED, cost: float = 0.25, **more: Any
    ) -> RunFinished:
        """`more`: RunFinished's optional fields (model, token kinds, iteration_summaries)."""
        return RunFinished(
            event_id=f"{self.run_id}:finished",
            producer="executor",
            correlation=self.correlation,
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            issue=self.issue,
            agent="demo",
            prompt_version="build-v1",
            outcome=outcome,
            started_at="2026-11-24T10:00:00+00:00",
            duration_seconds=12.5,
            iterations=2,
            pull_request_url=f"http://github.test/{self.issue.repo.full_name}/pull/3",
            pull_request_number=3,
            detail="pull request #3 is open",
            input_tokens=1000,
            output_tokens=200,
            cost_usd=cost,
            **more,
        )
