"""PullConversationWorkflow on Temporal's time-skipping server, with stand-in activities: the same
change asks for one round (also across a continue-as-new), each kind of round is capped with one line
in the one conversation comment, the round's prompt carries the reviewer's pinned text, a conflict
round starts from the base merged into the head and pushes a merge, and `stop` ends the conversation.
The real activities are covered end to end in test_review_round and test_conflict_round_e2e."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueRef, PullRequestClosed, RepoRef, TriggerSource
from paid_contracts.workflow_ids import ConversationSignal, pull_conversation_workflow_id
from paid_executor.activities.admission import (
    AdmissionAnswer,
    AdmissionRequest,
    ReleaseAnswer,
    ReleaseRequest,
)
from paid_executor.agents.base import AgentResult
from paid_executor.params import IssueDetails, IterationInput, IterationOutput, RunContext
from paid_executor.repo_config import RepoConfig
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import (
    ConversationCommentInput,
    ConversationInput,
    ConversationPolicy,
    FollowUpSummaryInput,
    ReviewThread,
    RoundPublished,
    RoundPublishInput,
    RoundRequest,
    RoundWorkspaceInfo,
    RoundWorkspaceInput,
    ThreadRepliesInput,
)
from paid_executor.rounds.subscribers import on_pull_closed

from .test_subscribers import eventually

HEAD, PUSHED, BASE, MERGED = "a" * 40, "b" * 40, "c" * 40, "d" * 40


@dataclass
class AdmissionStandIns:
    """The admission gate's two local activities, as a run's or a round's worker has them."""

    full: str | None = None  # while set, the admission gate answers "wait", with this reason
    admissions: list[str] = field(default_factory=list)  # "asked" and "released", in order

    def admission_activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="admit_run")
        async def admit_run(request: AdmissionRequest) -> AdmissionAnswer:
            self.admissions.append("asked")
            if self.full:
                return AdmissionAnswer(admitted=False, position=1, reason=self.full, poll_seconds=3600)
            return AdmissionAnswer(admitted=True)

        @activity.defn(name="release_run")
        async def release_run(request: ReleaseRequest) -> ReleaseAnswer:
            self.admissions.append("released")
            return ReleaseAnswer()

        return [admit_run, release_run]


@dataclass
class StandIns(AdmissionStandIns):
    prompts: list[str] = field(default_factory=list)
    leases: list[str] = field(default_factory=list)
    replies: list[tuple[int, ...]] = field(default_factory=list)
    comment: str = ""
    cleanups: int = 0
    conflicts: tuple[str, ...] = ("calc.py",)  # what a conflict round's merge leaves to the agent
    merges: list[bool] = field(default_factory=list)
    parents: list[tuple[str, ...]] = field(default_factory=list)
    homes: list[str] = field(default_factory=list)  # the task queues of the next worktrees (else none)
    summaries: list[FollowUpSummaryInput] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="fetch_issue")
        async def fetch_issue(run: RunContext) -> IssueDetails:
            return IssueDetails(
                title="add() subtracts",
                body=None,
                html_url="u",
                state="open",
                default_branch="main",
                clone_url="c",
            )

        @activity.defn(name="prepare_round_workspace")
        async def prepare_round_workspace(request: RoundWorkspaceInput) -> RoundWorkspaceInfo:
            self.merges.append(request.merge_base)
            if not request.merge_base:
                home = self.homes.pop(0) if self.homes else None
                return RoundWorkspaceInfo(base_sha=HEAD, config=RepoConfig(), task_queue=home)
            return RoundWorkspaceInfo(
                base_sha=MERGED,
                config=RepoConfig(),
                head_sha=HEAD,
                merged_base_sha=BASE,
                conflicts=self.conflicts,
            )

        @activity.defn(name="run_iteration")
        async def run_iteration(request: IterationInput) -> IterationOutput:
            self.prompts.append(request.prompt)
            return IterationOutput(
                iteration=1, result=AgentResult(summary="done"), last_output="", changed_files=("calc.py",)
            )

        @activity.defn(name="publish_round")
        async def publish_round(request: RoundPublishInput) -> RoundPublished:
            self.leases.append(request.head_sha)
            self.parents.append(request.merge_parents)
            return RoundPublished(head_sha=PUSHED, changed_files=1)

        @activity.defn(name="reply_in_threads")
        async def reply_in_threads(request: ThreadRepliesInput) -> int:
            self.replies.append(tuple(thread.comment_id for thread in request.threads))
            return len(request.threads)

        @activity.defn(name="post_conversation_comment")
        async def post_conversation_comment(request: ConversationCommentInput) -> int:
            self.comment = request.body
            return 1

        @activity.defn(name="publish_follow_up")
        async def publish_follow_up(request: FollowUpSummaryInput) -> None:
            self.summaries.append(request)

        @activity.defn(name="cleanup_workspace")
        async def cleanup_workspace(run: RunContext) -> None:
            self.cleanups += 1

        return [
            *self.admission_activities(),
            fetch_issue,
            prepare_round_workspace,
            run_iteration,
            publish_round,
            reply_in_threads,
            post_conversation_comment,
            cleanup_workspace,
            publish_follow_up,
        ]


def review(change: str, *threads: tuple[int, str]) -> RoundRequest:
    return RoundRequest(
        change_id=change,
        kind="review",
        requested_by="rita",
        summary=f"summary of {change}",
        threads=tuple(
            ReviewThread(comment_id=cid, author="rita", path="calc.py", line=2, body=body)
            for cid, body in threads
        ),
    )


async def test_rounds_are_deduplicated_capped_and_survive_continue_as_new(env: WorkflowEnvironment) -> None:
    stand_ins = StandIns()
    queue = f"conversation-{uuid.uuid4()}"
    issue = IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1)
    # history_limit=1: the conversation continues as new after every round.
    policy = ConversationPolicy(round_cap=2, history_limit=1)
    async with Worker(
        env.client, task_queue=queue, workflows=[PullConversationWorkflow], activities=stand_ins.activities()
    ):
        handle: WorkflowHandle[PullConversationWorkflow, int] = await env.client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(issue=issue, number=2, branch="paid/issue-1", policy=policy),
            id=f"pr:alice/calc#2-{uuid.uuid4()}",
            task_queue=queue,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[review("review-1", (11, "Rename it, {{ please }}"), (12, "And test it"))],
        )

        async def rounds(count: int) -> bool:
            status = await handle.query(PullConversationWorkflow.status)
            return status.rounds == count and status.step == "waiting" and status.pending == 0

        await eventually(lambda: rounds(1), timeout=60)
        await handle.signal(PullConversationWorkflow.request_round, review("review-1", (11, "again")))
        await handle.signal(PullConversationWorkflow.request_round, review("review-2", (13, "One more")))
        await eventually(lambda: rounds(2), timeout=60)
        await handle.signal(PullConversationWorkflow.request_round, review("review-3", (14, "Over the cap")))

        async def refused() -> bool:
            return "Paid starts no more" in stand_ins.comment

        await eventually(refused, timeout=60)
        status = await handle.query(PullConversationWorkflow.status)
        await handle.signal(PullConversationWorkflow.stop)
        assert await handle.result() == 2

    assert (status.rounds, status.counts) == (2, {"review": 2})
    assert status.seen == ("review-1", "review-2", "review-3")
    # Summed up once when it ended, across its continues-as-new, for evolution's scores.
    assert [(s.rounds, s.rounds_without_push, s.ci_stopped) for s in stand_ins.summaries] == [
        ({"review": 2}, 0, False)
    ]
    assert len(stand_ins.prompts) == 2
    assert '<comment id="11" author="rita" at="calc.py:2">' in stand_ins.prompts[0]
    assert "Rename it, {{ please }}" in stand_ins.prompts[0]
    assert "again" not in "".join(stand_ins.prompts)
    assert "Over the cap" not in "".join(stand_ins.prompts)
    assert stand_ins.leases == [HEAD, HEAD]
    assert stand_ins.replies == [(11, 12), (13,)]
    assert stand_ins.cleanups == 2
    assert stand_ins.admissions == ["asked", "released", "asked", "released"]  # a slot per round
    lines = [line for line in stand_ins.comment.splitlines() if line.startswith("- ")]
    assert lines == [
        f"- Round 1 (review, asked by @rita) pushed {PUSHED[:12]} (1 file(s) changed).",
        f"- Round 2 (review, asked by @rita) pushed {PUSHED[:12]} (1 file(s) changed).",
        "- More review rounds were asked for, but this pull request has had its 2; Paid starts no more.",
    ]


async def test_the_same_ci_failure_after_a_round_stops_the_ci_rounds_and_closing_ends_the_conversation(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns()
    queue = f"conversation-{uuid.uuid4()}"
    issue = IssueRef(repo=RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}"), number=1)

    def failing(change: str, signature: str) -> RoundRequest:
        return RoundRequest(
            change_id=change,
            kind="ci",
            requested_by="test-ci-checks",
            summary="The check `tests` ended as failure.",
            failure_signature=signature,
        )

    async with Worker(
        env.client, task_queue=queue, workflows=[PullConversationWorkflow], activities=stand_ins.activities()
    ):
        handle: WorkflowHandle[PullConversationWorkflow, int] = await env.client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(issue=issue, number=2, branch="paid/issue-1"),
            id=pull_conversation_workflow_id(issue.repo.full_name, 2),
            task_queue=queue,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[failing("check-run-1", "same")],
        )
        await eventually(lambda: _settled(handle, 1), timeout=60)
        await handle.signal(PullConversationWorkflow.request_round, failing("check-run-2", "same"))
        await handle.signal(PullConversationWorkflow.request_round, failing("check-run-3", "other"))

        async def stopped() -> bool:
            status = await handle.query(PullConversationWorkflow.status)
            return status.pending == 0 and len(status.seen) == 3

        await eventually(stopped, timeout=60)
        status = await handle.query(PullConversationWorkflow.status)
        # The pull request closes: its conversation ends (and a second close finds none to end).
        closed = PullRequestClosed(
            producer="test",
            repo=issue.repo,
            number=2,
            merged=True,
            head_ref="paid/issue-1",
            source=TriggerSource.WEBHOOK,
            source_id="d1",
        )
        assert await on_pull_closed(env.client, closed.model_copy(update={"number": 3})) is False
        assert await on_pull_closed(env.client, closed) is True
        assert await handle.result() == 1

    assert (status.rounds, status.counts) == (1, {"ci": 1})
    assert [(s.number, s.rounds, s.ci_stopped) for s in stand_ins.summaries] == [(2, {"ci": 1}, True)]
    assert len(stand_ins.prompts) == 1
    assert "<check>" in stand_ins.prompts[0]
    lines = [line for line in stand_ins.comment.splitlines() if line.startswith("- ")]
    assert len(lines) == 2
    assert lines[1].startswith("- The check `tests` ended as failure. It failed the same way after round 1")


async def test_a_conflict_round_merges_the_base_and_pushes_a_merge_and_a_clean_base_needs_no_agent(
    env: WorkflowEnvironment,
) -> None:
    stand_ins = StandIns()
    queue = f"conversation-{uuid.uuid4()}"
    issue = IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1)

    def conflict(base_sha: str) -> RoundRequest:
        return RoundRequest(change_id=f"conflicts-with:{base_sha}", kind="conflict", requested_by="bob")

    async with Worker(
        env.client, task_queue=queue, workflows=[PullConversationWorkflow], activities=stand_ins.activities()
    ):
        handle: WorkflowHandle[PullConversationWorkflow, int] = await env.client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(issue=issue, number=2, branch="paid/issue-1"),
            id=f"pr:alice/calc#2-{uuid.uuid4()}",
            task_queue=queue,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[conflict("1")],
        )
        await eventually(lambda: _settled(handle, 1), timeout=60)
        stand_ins.conflicts = ()  # someone resolved it meanwhile
        await handle.signal(PullConversationWorkflow.request_round, conflict("2"))
        await eventually(lambda: _settled(handle, 2), timeout=60)
        await handle.signal(PullConversationWorkflow.stop)
        assert await handle.result() == 2

    assert stand_ins.merges == [True, True]
    assert [(s.rounds, s.rounds_without_push) for s in stand_ins.summaries] == [({"conflict": 2}, 1)]
    assert len(stand_ins.prompts) == 1
    assert "- calc.py" in stand_ins.prompts[0]
    assert (stand_ins.leases, stand_ins.parents) == ([MERGED], [(HEAD, BASE)])
    assert stand_ins.cleanups == 2
    lines = [line for line in stand_ins.comment.splitlines() if line.startswith("- ")]
    assert lines == [
        f"- Round 1 (conflict, asked by @bob) pushed {PUSHED[:12]} (1 file(s) changed).",
        "- Round 2 (conflict, asked by @bob) found that the base merges cleanly now; nothing to resolve.",
    ]


async def _settled(handle: WorkflowHandle[PullConversationWorkflow, int], rounds: int) -> bool:
    status = await handle.query(PullConversationWorkflow.status)
    return status.rounds == rounds and status.step == "waiting" and status.pending == 0
