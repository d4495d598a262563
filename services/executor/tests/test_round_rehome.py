"""A round whose worktree's worker is lost while its agent runs starts again on a fresh worktree and
pushes once (the short form of tests/integration/test_round_durability and of the chaos driver's
review-round scenario); a round that keeps losing its worker ends with one honest line, after at most
MAX_REHOMES moves. PullConversationWorkflow on Temporal's time-skipping server with stand-in
activities: the lost worker is a task queue nobody polls."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueRef, RepoRef
from paid_contracts.workflow_ids import ConversationSignal, pull_conversation_workflow_id
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import ConversationInput, ConversationPolicy
from paid_executor.run_limits import MAX_REHOMES

from .test_conversation import HEAD, PUSHED, StandIns, review
from .test_subscribers import eventually


async def one_round(env: WorkflowEnvironment, stand_ins: StandIns) -> list[str]:
    """The conversation comment's lines once the one round asked for has ended."""
    queue = f"conversation-{uuid.uuid4()}"
    issue = IssueRef(repo=RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}"), number=1)
    async with Worker(
        env.client, task_queue=queue, workflows=[PullConversationWorkflow], activities=stand_ins.activities()
    ):
        handle: WorkflowHandle[PullConversationWorkflow, int] = await env.client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(
                issue=issue,
                number=2,
                branch="paid/issue-1",
                policy=ConversationPolicy(home_start_timeout_seconds=1),
            ),
            id=pull_conversation_workflow_id(issue.repo.full_name, 2),
            task_queue=queue,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[review("review-1", (11, "Rename it"))],
        )

        async def ended() -> bool:
            status = await handle.query(PullConversationWorkflow.status)
            return status.rounds == 1 and status.step == "waiting"

        await eventually(ended, timeout=60)
        await handle.signal(PullConversationWorkflow.stop)
        await handle.result()
    return [line for line in stand_ins.comment.splitlines() if line.startswith("- ")]


async def test_a_round_that_loses_its_worker_starts_again_on_a_fresh_worktree_and_pushes_once(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns(homes=[f"lost-{uuid.uuid4()}"])  # the first worktree's worker never answers

    lines = await one_round(env, stand_ins)

    assert lines == [f"- Round 1 (review, asked by @rita) pushed {PUSHED[:12]} (1 file(s) changed)."]
    assert len(stand_ins.prompts) == 1  # the agent ran once, on the second worktree
    assert stand_ins.leases == [HEAD]
    assert stand_ins.replies == [(11,)]
    assert stand_ins.cleanups == 1  # the second worktree's; nobody polls the lost one's queue


async def test_a_round_that_keeps_losing_its_worker_ends_with_one_honest_line(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns(homes=[f"lost-{uuid.uuid4()}" for _ in range(MAX_REHOMES + 1)])

    lines = await one_round(env, stand_ins)

    assert len(lines) == 1
    assert lines[0].startswith("- Round 1 (review, asked by @rita) failed: run_iteration:")  # timed out
    assert (stand_ins.prompts, stand_ins.leases, stand_ins.replies) == ([], [], [])
