"""The real publish_follow_up activity on real NATS JetStream: one FollowUpFinished per conversation,
named by its workflow id, so a retried activity (or a replayed conversation) adds nothing to the stream."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

import pytest
from faststream.nats import NatsBroker
from temporalio.testing import ActivityEnvironment

from paid_contracts import IssueRef, RepoRef, follow_up_event_id, subjects
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.activities import RoundActivities
from paid_executor.rounds.params import FollowUpSummaryInput

pytestmark = pytest.mark.integration


async def follow_ups_of(broker: NatsBroker, event_id: str) -> list[dict[str, Any]]:
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_RUN")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("PAID_RUN", seq)
        if message.subject == subjects.RUN_FOLLOW_UP_FINISHED:
            event = json.loads(message.data or b"{}")
            if event["event_id"] == event_id:
                found.append(event)
    return found


async def test_a_retried_summary_is_published_once(broker: NatsBroker) -> None:
    repo = RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}")
    workflow_id = pull_conversation_workflow_id(repo.full_name, 2)
    deps = ExecutorDeps(
        ExecutorSettings(github_token="ghp_unused"), *cast(list[Any], [broker, None, None, None])
    )
    summary = FollowUpSummaryInput(
        workflow_id=workflow_id,
        issue=IssueRef(repo=repo, number=1),
        number=2,
        rounds={"review": 3, "ci": 1},
        rounds_without_push=1,
        ci_stopped=True,
    )
    activities = RoundActivities(deps)
    for _ in range(2):  # the activity retried after its first publish landed
        await ActivityEnvironment().run(activities.publish_follow_up, summary)

    found = await follow_ups_of(broker, follow_up_event_id(workflow_id))
    assert len(found) == 1
    event = found[0]
    assert event["type"] == "paid.run.follow_up_finished"
    assert event["producer"] == "executor"
    assert (event["pull_request_number"], event["issue"]["number"]) == (2, 1)
    assert event["rounds"] == {"review": 3, "ci": 1}
    assert (event["rounds_without_push"], event["ci_stopped"]) == (1, True)
