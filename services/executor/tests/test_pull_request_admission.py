"""A pull request's rounds and review-mode reviews take agent slots like runs do (the same admission gate,
limits and budgets): a round waits, says why once on the pull request, and starts when a slot frees;
rounds stopped while one waits run no agent; a review waits too; every slot asked for is given back. On
the time-skipping server, with stand-in activities (the real gate is covered in test_admission_gate)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from paid_contracts import IssueRef, RepoRef
from paid_contracts.workflow_ids import ConversationSignal, ExecutionSignal
from paid_executor.review_workflow import (
    POST_MODE_REVIEW,
    REVIEW_PINNED_HEAD,
    PostedModeReview,
    PostModeReviewInput,
    ReviewFindingsOutput,
    ReviewModeInput,
    ReviewModeWorkflow,
)
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import ConversationInput

from .test_conversation import AdmissionStandIns, StandIns, review
from .test_subscribers import eventually

ISSUE = IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1)
FULL = "alice/calc has 2 runs at its limit of 2"
HISTORIES = Path(__file__).parent / "histories"


@asynccontextmanager
async def queued_round(
    env: WorkflowEnvironment, stand_ins: StandIns
) -> AsyncIterator[WorkflowHandle[PullConversationWorkflow, int]]:
    """A conversation whose first round waits for a slot, with its worker running."""
    queue = f"round-admission-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=[PullConversationWorkflow], activities=stand_ins.activities()
    ):
        handle = await env.client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(issue=ISSUE, number=2, branch="paid/issue-1"),
            id=f"pr:alice/calc#2-{uuid.uuid4()}",
            task_queue=queue,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[review("review-1", (11, "Rename it"))],
        )

        async def waiting() -> bool:
            return (await handle.query(PullConversationWorkflow.status)).step == "queued"

        await eventually(waiting, timeout=60)
        yield handle


async def test_a_round_waits_for_a_slot_says_why_and_starts_when_woken(env: WorkflowEnvironment) -> None:
    stand_ins = StandIns(full=FULL)
    async with queued_round(env, stand_ins) as handle:
        assert f"waits for a slot: {FULL}." in stand_ins.comment
        assert stand_ins.prompts == []  # no agent while it waits

        stand_ins.full = None
        await handle.signal(ExecutionSignal.ADMIT)

        async def done() -> bool:
            status = await handle.query(PullConversationWorkflow.status)
            return status.rounds == 1 and status.step == "waiting" and len(stand_ins.prompts) == 1

        await eventually(done, timeout=60)
        await handle.signal(PullConversationWorkflow.stop)
        await handle.result()

    assert stand_ins.admissions == ["asked", "asked", "released"]
    assert "pushed" in stand_ins.comment
    assert "waits for a slot" not in stand_ins.comment


async def test_rounds_stopped_while_one_waits_run_no_agent_and_give_the_place_back(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns(full=FULL)
    async with queued_round(env, stand_ins) as handle:
        await handle.signal(PullConversationWorkflow.stop)
        await handle.result()

    assert stand_ins.prompts == []
    assert stand_ins.cleanups == 0
    assert stand_ins.admissions == ["asked", "released"]
    assert "did not start: rounds were stopped" in stand_ins.comment


@pytest.mark.parametrize(
    "recorded",
    sorted([*HISTORIES.glob("conversation/*.json"), *HISTORIES.glob("review/*.json")]),
    ids=lambda path: f"{path.parent.name}/{path.stem}",
)
async def test_recorded_conversations_and_reviews_still_replay(recorded: Path) -> None:
    """one_round and posted: recorded before rounds and reviews were admitted (they replay without asking
    for a slot); *_admitted: after. Fails when a change would break those already running."""
    history = WorkflowHistory.from_json("recorded", recorded.read_text())
    workflows = [PullConversationWorkflow if recorded.parent.name == "conversation" else ReviewModeWorkflow]
    replayer = Replayer(workflows=workflows, data_converter=pydantic_data_converter)

    await replayer.replay_workflow(history)


@dataclass
class ReviewStandIns(AdmissionStandIns):
    full: str | None = FULL
    reviewed: int = 0

    @activity.defn(name=REVIEW_PINNED_HEAD)
    async def review(self, request: ReviewModeInput) -> ReviewFindingsOutput:
        self.reviewed += 1
        return ReviewFindingsOutput(findings_json="{}")

    @activity.defn(name=POST_MODE_REVIEW)
    async def post(self, request: PostModeReviewInput) -> PostedModeReview:
        return PostedModeReview(review_id=7, posted=True)


async def test_a_review_waits_for_a_slot_before_its_agent_and_gives_it_back(env: WorkflowEnvironment) -> None:
    stand_ins = ReviewStandIns()
    queue = f"review-admission-{uuid.uuid4()}"
    activities = [*stand_ins.admission_activities(), stand_ins.review, stand_ins.post]
    async with Worker(env.client, task_queue=queue, workflows=[ReviewModeWorkflow], activities=activities):
        request = ReviewModeInput(
            repo=ISSUE.repo,
            number=2,
            head_sha="a" * 40,
            requested_by="rita",
            trigger_id="t-1",
            agent="demo",
            sandbox="bwrap",
            agent_timeout_seconds=60,
        )
        handle = await env.client.start_workflow(
            ReviewModeWorkflow.run, request, id=f"review-{uuid.uuid4()}", task_queue=queue
        )

        async def waiting() -> bool:
            return await handle.query(ReviewModeWorkflow.step) == "queued"

        await eventually(waiting, timeout=60)
        assert stand_ins.reviewed == 0

        stand_ins.full = None
        await handle.signal(ExecutionSignal.ADMIT)
        result = await handle.result()

    assert result.outcome == "posted"
    assert stand_ins.reviewed == 1
    assert stand_ins.admissions == ["asked", "asked", "released"]
