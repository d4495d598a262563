"""Three executor replicas (`--scale executor=3`) on a real engine: 30 runs are shared across all three
through the Temporal task queue and the NATS durable consumer, and a replica killed in the middle of a
run loses nothing and duplicates nothing: the run finishes on another replica, with one pull request.

Which replica ran a run is read from Temporal's history: the `run_agent` activity's ActivityTaskStarted
event names the worker (`pid@hostname`, and a container's hostname is its id)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from paid_devstack.compose import ComposeStack
from paid_devstack.processes import wait_until

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yml"
RUNS = 30
SLOW = "PAID-SLOW-AGENT"
# The shipped demo agent, held for 45 s when the issue asks for it (so a replica can be killed mid-run).
AGENT = (
    f'bash -c \'if grep -q {SLOW} "$0"; then sleep 45; fi; PAID_PROMPT_FILE="$0" exec paid-demo-agent\''
    " {prompt_file}"
)

pytestmark = [pytest.mark.docker, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    home = Path(tempfile.mkdtemp(prefix="paid-docker-"))
    with ComposeStack(COMPOSE_FILE, home, executors=3, agent_command=AGENT) as stack:
        yield stack


def temporal(stack: ComposeStack) -> Client:
    return asyncio.run(Client.connect(f"127.0.0.1:{stack.ports['temporal']}"))


async def agent_workers(client: Client, workflow_id: str) -> list[tuple[str, int]]:
    """(worker identity, attempt) of each run_agent activity the workflow has started."""
    scheduled: dict[int, str] = {}
    started: list[tuple[str, int]] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == "run_agent":
                started.append((attrs.identity, attrs.attempt))
    return started


def hostname(identity: str) -> str:
    return identity.partition("@")[2]


def pull_issues(stack: ComposeStack, owner: str, repo: str) -> Counter[int]:
    """How many pull requests close each issue."""
    return Counter(
        int(m.group(1))
        for p in stack.pulls(owner, repo)
        for m in [re.search(r"Closes #(\d+)", p["body"])]
        if m
    )


def test_thirty_runs_are_shared_by_three_replicas(stack: ComposeStack) -> None:
    replicas = {cid[:12] for cid in stack.container_ids("executor")}
    assert len(replicas) == 3
    stack.seed_repository("acme", "spread")
    issues = [stack.open_labeled_issue("acme", "spread", title=f"add() subtracts ({i})") for i in range(RUNS)]

    stack.wait_for_pulls("acme", "spread", RUNS, timeout=900)

    assert pull_issues(stack, "acme", "spread") == Counter(issues), "a run was lost or duplicated"
    client = temporal(stack)
    ran_on = Counter[str]()
    for number in issues:
        workers = asyncio.run(agent_workers(client, f"exec:acme/spread#{number}"))
        assert len(workers) == 1, workers
        ran_on[hostname(workers[0][0])] += 1
    print(f"runs per executor replica: {dict(ran_on)}")
    assert set(ran_on) == replicas, f"runs per replica: {dict(ran_on)}"


def test_replica_killed_mid_run_loses_and_duplicates_nothing(stack: ComposeStack) -> None:
    stack.seed_repository("acme", "failover")
    number = stack.open_labeled_issue("acme", "failover", title=f"add() subtracts, slowly ({SLOW})")
    client = temporal(stack)
    handle = client.get_workflow_handle(f"exec:acme/failover#{number}")

    def running_agent() -> str:
        try:
            description = asyncio.run(handle.describe())
        except Exception:
            return ""
        for pending in description.raw_description.pending_activities:
            if (
                pending.activity_type.name == "run_agent"
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                return str(pending.last_worker_identity)
        return ""

    wait_until(lambda: bool(running_agent()), timeout=300, what="the slow agent to start on a replica")
    victim = running_agent()
    container = next(c for c in stack.container_ids("executor") if c.startswith(hostname(victim)))
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)

    [pull] = stack.wait_for_pulls("acme", "failover", 1, timeout=600)
    assert f"Closes #{number}" in pull["body"]
    asyncio.run(handle.result())  # raises unless the workflow completed
    workers = asyncio.run(agent_workers(client, handle.id))
    assert len(workers) == 1, workers
    identity, attempt = workers[0]
    assert attempt >= 2, "the killed attempt was not retried"
    assert identity != victim, "the run finished on the killed worker"
    assert pull_issues(stack, "acme", "failover") == Counter([number]), "duplicated pull request"
