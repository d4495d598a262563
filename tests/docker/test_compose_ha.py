"""Node loss on deploy/compose.yml + deploy/compose.ha.yml on a real engine: three NATS nodes as one
JetStream cluster, every stream and durable consumer on three replicas. While issues are labeled, the node
that leads PAID_GITHUB (where build requests land) is killed; runs go on while it is down; it is started
again. Every issue ends in one pull request or one honest failure comment (0 lost, 0 duplicated), and
every stream and durable consumer reports three current replicas at the end.

The short form (10 issues) runs in `scripts/test-docker --short`; the long form (50 issues) is heavy:
`PAID_HEAVY=1 scripts/test-docker tests/docker/test_compose_ha.py`."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from paid_contracts.markers import paid_marker
from paid_devstack.compose import ComposeStack
from paid_devstack.processes import wait_until

from .jetstream import Node, lagging, leader_of, nodes

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OWNER = "acme"
# The pipeline, the emulator and the three NATS nodes (the trace explorer is left out, as in the demo).
NATS_NODES = ("nats", "nats-2", "nats-3")
SERVICES = (*NATS_NODES, "gateway", "poller", "planner", "executor", "evolution", "github-emulator")
RESULT = re.compile(r"<!-- paid:run=\S+:result -->")
FINAL = paid_marker("final")

pytestmark = [pytest.mark.docker, pytest.mark.timeout(5400)]


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    home = Path(tempfile.mkdtemp(prefix="paid-docker-ha-"))
    overrides = (DEPLOY / "compose.ha.yml",)
    with ComposeStack(DEPLOY / "compose.yml", home, services=SERVICES, overrides=overrides) as stack:
        yield stack


@dataclass
class Ending:
    """How one labeled issue ended, as GitHub shows it."""

    pulls: int  # pull requests that close it
    results: list[str]  # Paid's result comments on it (one per run)

    def __repr__(self) -> str:
        return f"Ending(pulls={self.pulls}, results={[body.splitlines()[1] for body in self.results]})"

    @property
    def concluded(self) -> bool:
        return self.pulls > 0 or any(FINAL in body for body in self.results)

    @property
    def honest(self) -> bool:
        """One run, final, and it says what happened: a PR, or no PR with an outcome that is not success."""
        if len(self.results) != 1 or FINAL not in self.results[0] or self.pulls > 1:
            return False
        succeeded = "Outcome: **succeeded**" in self.results[0]
        return succeeded == (self.pulls == 1)


def endings(stack: ComposeStack, repo: str, issues: list[int]) -> dict[int, Ending]:
    closing = [
        int(match.group(1))
        for pull in stack.pulls(OWNER, repo)
        for match in [re.search(r"Closes #(\d+)", pull["body"] or "")]
        if match
    ]
    return {
        number: Ending(
            pulls=closing.count(number),
            results=[
                comment["body"]
                for comment in stack.issue_comments(OWNER, repo, number)
                if RESULT.search(comment["body"] or "")
            ],
        )
        for number in issues
    }


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def label(stack: ComposeStack, repo: str, first: int, count: int) -> list[int]:
    return [
        stack.open_labeled_issue(OWNER, repo, title=f"add() subtracts ({index})")
        for index in range(first, first + count)
    ]


def node_loss(stack: ComposeStack, repo: str, count: int, timeout: float) -> None:
    cluster = nodes(stack.ports)
    wait_until(lambda: not lagging(cluster), timeout=300, what="three current replicas before the test")
    stack.seed_repository(OWNER, repo)
    # A webhook that arrives while the stream elects a new leader is refused (503): the poller, which
    # has polled the repository once (its cursor), then publishes that labeling, as in production.
    stack.register_project(OWNER, repo, poll_interval_seconds=5)
    wait_until(
        lambda: f"{OWNER}/{repo}" in stack.sql("SELECT repo FROM poller.poll_state").split(),
        timeout=300,
        what=f"the poller's first poll of {repo}",
    )
    third = max(1, count // 3)
    before = label(stack, repo, 0, third)

    victim: Node = leader_of(cluster, "PAID_GITHUB")
    [container] = stack.container_ids(victim.service)
    docker("kill", container)
    during = label(stack, repo, third, third)
    # The pipeline rides through the loss: a run labeled while the node is down concludes before it is back.
    try:
        wait_until(
            lambda: any(e.concluded for e in endings(stack, repo, during).values()),
            timeout=timeout / 2,
            what=f"a run labeled while {victim.server_name} is down to conclude",
        )
    finally:
        print(f"killed {victim.server_name}; the issues so far: {endings(stack, repo, before + during)}")
    assert lagging(cluster), f"every group reports three current replicas with {victim.server_name} down"
    docker("start", container)
    after = label(stack, repo, 2 * third, count - 2 * third)
    issues = before + during + after

    try:
        wait_until(
            lambda: all(e.concluded for e in endings(stack, repo, issues).values()),
            timeout=timeout,
            what=f"{count} runs to conclude",
        )
    finally:
        print(f"issues and how they ended: {endings(stack, repo, issues)}")
    ended = endings(stack, repo, issues)
    dishonest = {number: ending for number, ending in ended.items() if not ending.honest}
    assert not dishonest, f"lost, duplicated or unexplained: {dishonest}"
    wait_until(lambda: not lagging(cluster), timeout=300, what="three current replicas after the restart")
    pulls = sum(ending.pulls for ending in ended.values())
    print(
        f"node loss: killed {victim.server_name}; {len(issues)} issues, {pulls} pull requests, "
        f"{len(issues) - pulls} failure comments; 0 lost, 0 duplicated; "
        f"{refused_labelings(stack, repo)} labeling webhooks refused (503) and published by the poller"
    )


def refused_labelings(stack: ComposeStack, repo: str) -> int:
    response = stack.admin.get("/deliveries")
    response.raise_for_status()
    return sum(
        1
        for delivery in response.json()
        if delivery["repository"] == f"{OWNER}/{repo}"
        and delivery["action"] == "labeled"
        and (delivery.get("response") or {}).get("status_code") == 503
    )


@contextmanager
def logs_on_failure(stack: ComposeStack) -> Iterator[None]:
    try:
        yield
    except BaseException:
        print(stack.logs())
        raise


def test_a_nats_node_lost_and_restarted_loses_and_duplicates_no_run(stack: ComposeStack) -> None:
    with logs_on_failure(stack):
        node_loss(stack, "ha-short", count=10, timeout=900)


@pytest.mark.heavy
def test_fifty_issues_through_a_nats_node_loss(stack: ComposeStack) -> None:
    with logs_on_failure(stack):
        node_loss(stack, "ha-long", count=50, timeout=3600)
