"""History events of a typical build run: the demo agent's run from label to PR, counted from the
workflow's history in Temporal (goal: <= 200). Prints `name value unit` lines."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack.sandbox import EmulatedPaid


async def history_length(target: str, workflow_id: str) -> tuple[int, int]:
    client = await Client.connect(target)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = "activity_task_scheduled_event_attributes"
    activities = sum(1 for event in history.events if event.HasField(scheduled))
    return len(history.events), activities


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="paid-bench-history-"))
    with EmulatedPaid(home, service_env={"executor": {"PAID_EXECUTOR_AGENT": "demo"}}) as paid:
        issue = paid.create_repository("bench", "history")
        paid.label(issue)
        paid.wait_for_pull(issue)
        paid.wait_for_result_comment(issue)
        workflow_id = execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number)
        events, activities = asyncio.run(history_length(paid.platform.infra.temporal_target, workflow_id))
    print(f"build_run_history_events {events} events")
    print(f"build_run_activities {activities} activities")


if __name__ == "__main__":
    main()
