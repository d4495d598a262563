"""What the pipeline holds for an issue: its execution workflows, its build requests on JetStream."""

from __future__ import annotations

import json
from typing import Any

import nats
from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.sandbox import EmulatedPaid


async def workflow_count(paid: EmulatedPaid, issue: DemoIssue) -> int:
    client = await Client.connect(paid.platform.infra.temporal_target)
    query = f"WorkflowId = '{execution_workflow_id(f'{issue.owner}/{issue.repo}', issue.number)}'"
    return (await client.count_workflows(query)).count


async def running_executions(paid: EmulatedPaid) -> int:
    """Execution workflows still running anywhere on the stack (runs other tests left going)."""
    client = await Client.connect(paid.platform.infra.temporal_target)
    query = "WorkflowType = 'AgentExecutionWorkflow' AND ExecutionStatus = 'Running'"
    return (await client.count_workflows(query)).count


async def build_requests(paid: EmulatedPaid, issue: DemoIssue) -> list[dict[str, Any]]:
    """Every `paid.github.build_requested` event JetStream holds for the issue's repository."""
    connection = await nats.connect(paid.platform.infra.nats_admin_url)
    try:
        js = connection.jetstream()
        subscription = await js.subscribe("paid.github.build_requested", ordered_consumer=True)
        found = []
        while True:
            try:
                message = await subscription.next_msg(timeout=1.0)
            except TimeoutError:
                break
            event = json.loads(message.data)
            if event["correlation"]["repo"] == f"{issue.owner}/{issue.repo}":
                found.append(event)
        return found
    finally:
        await connection.close()
