"""Review mode's workflow: one review of a pull request, of the head pinned when it was asked for.

Two activities: the agent reads the pinned head in the sandbox and writes its findings (no credential,
nothing writable but its output directory: review_session.py), then Paid posts them as one COMMENT
review (review_posting.py). The workflow id names the pull request and the head, so a second request
for the same head (a redelivery, the label and the command both) is the same review. When the head
moved, or the agent's findings are refused, Paid says so once on the pull request and posts no review."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from paid_contracts import RepoRef
from paid_contracts.workflow_ids import REVIEW_MODE_WORKFLOW, ExecutionSignal

with workflow.unsafe.imports_passed_through():
    from paid_executor.activities.admission import AdmissionAnswer, AdmissionRequest
    from paid_executor.admission_gate import await_slot, release_slot

# The review's agent waits for a slot under the same limits and budgets as a run's, and frees it after.
REVIEW_ADMISSION_PATCH = "review-admission-1"

REVIEW_PINNED_HEAD = "review_pinned_head"
POST_MODE_REVIEW = "post_mode_review"
EXPLAIN_REVIEW = "explain_review"
# Failures Paid explains on the pull request instead of failing the workflow: what went wrong is
# the request's (the head moved) or the agent's (its findings), and asking again is the remedy.
EXPLAINED: dict[str, Literal["head_moved", "findings_refused", "budget_exceeded", "pull_closed"]] = {
    "ReviewHeadMoved": "head_moved",
    "ReviewFindingsRefused": "findings_refused",
    "ReviewBudgetExceeded": "budget_exceeded",
    "ReviewPullClosed": "pull_closed",
}


class ReviewModeInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    repo: RepoRef
    number: int = Field(gt=0)
    head_sha: str = Field(description="the head pinned at the trigger: reviewed, or nothing is")
    requested_by: str
    trigger_id: str = Field(description="the event that asked (a labeling, a comment)")
    agent: str
    sandbox: str
    agent_timeout_seconds: float
    max_tokens: int | None = None
    max_cost_usd: float | None = None


class ReviewFindingsOutput(BaseModel):
    findings_json: str  # checked by review_mode.parse_findings, and checked again before posting


class PostModeReviewInput(BaseModel):
    request: ReviewModeInput
    findings_json: str


class PostedModeReview(BaseModel):
    review_id: int
    posted: bool
    inline_comments: int = 0
    moved_to_body: int = 0


class ExplainReviewInput(BaseModel):
    request: ReviewModeInput
    reason: str


class ReviewModeResult(BaseModel):
    outcome: Literal[
        "posted", "already_posted", "head_moved", "findings_refused", "budget_exceeded", "pull_closed"
    ]
    review_id: int | None = None
    inline_comments: int = 0
    detail: str = ""


@workflow.defn(name=REVIEW_MODE_WORKFLOW)
class ReviewModeWorkflow:
    def __init__(self) -> None:
        self._admission_woken = False
        self._step = "starting"

    @workflow.signal(name=ExecutionSignal.ADMIT)
    def admission_wake(self) -> None:
        """A slot freed: a review waiting for one looks again now rather than at its next poll."""
        self._admission_woken = True

    @workflow.query(name="step")
    def step(self) -> str:
        return self._step

    @workflow.run
    async def run(self, request: ReviewModeInput) -> ReviewModeResult:
        if not workflow.patched(REVIEW_ADMISSION_PATCH):
            return await self._review(request)
        try:
            await self._await_slot(request)
            return await self._review(request)
        finally:
            await release_slot(workflow.info().workflow_id)

    async def _await_slot(self, request: ReviewModeInput) -> None:
        async def queued(answer: AdmissionAnswer) -> None:
            self._step, self._admission_woken = "queued", False

        ask = AdmissionRequest(
            workflow_id=workflow.info().workflow_id,
            project=request.repo.full_name,
            agent=request.agent,
            requested_at=workflow.now(),
        )
        await await_slot(ask, queued=queued, look_again=lambda: self._admission_woken, given_up=lambda: False)
        self._step = "reviewing"

    async def _review(self, request: ReviewModeInput) -> ReviewModeResult:
        try:
            found = await workflow.execute_activity(
                REVIEW_PINNED_HEAD,
                request,
                result_type=ReviewFindingsOutput,
                start_to_close_timeout=timedelta(seconds=request.agent_timeout_seconds + 300),
                heartbeat_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=30)),
            )
            posted = await workflow.execute_activity(
                POST_MODE_REVIEW,
                PostModeReviewInput(request=request, findings_json=found.findings_json),
                result_type=PostedModeReview,
                start_to_close_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30)),
            )
        except ActivityError as error:
            cause = error.cause
            outcome = EXPLAINED.get(cause.type or "") if isinstance(cause, ApplicationError) else None
            if outcome is None or not isinstance(cause, ApplicationError):
                raise
            await workflow.execute_activity(
                EXPLAIN_REVIEW,
                ExplainReviewInput(request=request, reason=cause.message),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30)),
            )
            return ReviewModeResult(outcome=outcome, detail=cause.message)
        return ReviewModeResult(
            outcome="posted" if posted.posted else "already_posted",
            review_id=posted.review_id,
            inline_comments=posted.inline_comments,
        )
