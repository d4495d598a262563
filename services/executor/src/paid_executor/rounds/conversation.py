"""PullConversationWorkflow: the one durable conversation of a pull request Paid opened.

Rounds arrive as signals, each named by the GitHub change that caused it (`change_id`), so the same
change heard twice starts one round; each kind of round is capped (`policy.round_cap`). A round runs
the agent on the pull request's head in a fresh worktree (the same `run_iteration`, sandbox and
metering as a run), pushes one commit onto the head it saw, replies in each thread it addressed and
updates the conversation's one comment. The history is handed to a new run (continue-as-new) with
the state it needs when Temporal suggests it, so a long-lived pull request never outgrows it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from paid_contracts.workflow_ids import (
        PULL_CONVERSATION_STATUS_QUERY,
        PULL_CONVERSATION_WORKFLOW,
        ConversationSignal,
        ExecutionSignal,
        round_run_id,
    )
    from paid_executor.activities import GitHubActivities
    from paid_executor.activities.admission import AdmissionAnswer, AdmissionRequest
    from paid_executor.activities.iterations import IterationActivities
    from paid_executor.admission_gate import await_slot, release_slot
    from paid_executor.params import RunContext
    from paid_executor.rounds.activities import RoundActivities
    from paid_executor.rounds.params import (
        ConversationCommentInput,
        ConversationInput,
        ConversationStatus,
        FollowUpSummaryInput,
        RoundRequest,
        RoundWorkspaceInput,
    )
    from paid_executor.rounds.round_work import PUSHED, RoundHostLost, work_round
    from paid_executor.run_failures import failure_detail
    from paid_executor.run_limits import (
        FOLLOW_UP_SUMMARY_PATCH,
        GIT_ALLOWANCE,
        MAX_REHOMES,
        QUICK_RETRY,
        QUICK_TIMEOUT,
        ROUND_ADMISSION_PATCH,
        ROUND_REHOME_PATCH,
    )


@workflow.defn(name=PULL_CONVERSATION_WORKFLOW)
class PullConversationWorkflow:
    def __init__(self) -> None:
        self._pending: list[RoundRequest] = []
        self._seen: list[str] = []
        self._counts: dict[str, int] = {}
        self._rounds = 0
        self._stopped = False
        self._step = "waiting"
        self._lines: dict[str, str] = {}  # the conversation comment's lines, by round
        self._last_failure = ""
        self._stopped_kinds: list[str] = []
        self._without_push = 0
        self._admission_woken = False

    @workflow.signal(name=ConversationSignal.ROUND)
    def request_round(self, request: RoundRequest) -> None:
        if request.change_id in self._seen:
            return
        self._seen.append(request.change_id)
        self._pending.append(request)

    @workflow.signal(name=ConversationSignal.STOP)
    def stop(self) -> None:
        """The pull request closed, or `/paid stop`: no further round starts."""
        self._stopped = True

    @workflow.signal(name=ExecutionSignal.ADMIT)
    def admission_wake(self) -> None:
        """A slot freed: a round waiting for one looks again now rather than at its next poll."""
        self._admission_woken = True

    @workflow.query(name=PULL_CONVERSATION_STATUS_QUERY)
    def status(self) -> ConversationStatus:
        return ConversationStatus(
            step=self._step,
            rounds=self._rounds,
            counts=dict(self._counts),
            pending=len(self._pending),
            seen=tuple(self._seen),
        )

    @workflow.run
    async def run(self, state: ConversationInput) -> int:
        # Signals that arrived before this run started (with the start, or since a continue-as-new)
        # are already in _pending; the carried-over state decides whether they were seen before.
        fresh = [request for request in self._pending if request.change_id not in state.seen]
        self._pending = [*state.pending, *fresh]
        self._seen = [*state.seen, *(request.change_id for request in fresh)]
        self._counts = dict(state.counts)
        self._rounds = state.rounds
        self._lines = dict(state.lines)
        self._last_failure = state.last_failure
        self._stopped_kinds = list(state.stopped_kinds)
        self._without_push = state.rounds_without_push
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._stopped)
            if self._stopped:
                if workflow.patched(FOLLOW_UP_SUMMARY_PATCH):
                    await self._summarize(state)
                return self._rounds
            request = self._pending.pop(0)
            self._step = "starting"
            if request.kind in self._stopped_kinds:
                continue
            if request.failure_signature and request.failure_signature == self._last_failure:
                self._stopped_kinds.append(request.kind)
                which = request.summary.strip().splitlines()[0] + " " if request.summary.strip() else ""
                await self._comment(
                    state,
                    f"stopped-{request.kind}",
                    f"{which}It failed the same way after round {self._rounds} as before it; Paid stops "
                    "its CI rounds on this pull request, since another round would most likely do the same.",
                )
                continue
            cap = state.policy.round_cap
            if self._counts.get(request.kind, 0) >= cap:
                await self._comment(
                    state,
                    f"cap-{request.kind}",
                    f"More {request.kind} rounds were asked for, but this pull request has had its {cap}; "
                    "Paid starts no more.",
                )
                continue
            self._counts[request.kind] = self._counts.get(request.kind, 0) + 1
            self._rounds += 1
            if request.failure_signature:
                self._last_failure = request.failure_signature
            await self._round(state, request)
            self._step = "waiting"
            info = workflow.info()
            if (
                info.is_continue_as_new_suggested()
                or info.get_current_history_length() > state.policy.history_limit
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    state.model_copy(
                        update={
                            "seen": tuple(self._seen),
                            "counts": dict(self._counts),
                            "pending": tuple(self._pending),
                            "rounds": self._rounds,
                            "lines": dict(self._lines),
                            "last_failure": self._last_failure,
                            "stopped_kinds": tuple(self._stopped_kinds),
                            "rounds_without_push": self._without_push,
                        }
                    )
                )

    async def _round(self, state: ConversationInput, request: RoundRequest) -> None:
        number, kind = self._rounds, request.kind
        info = workflow.info()
        run = RunContext(
            run_id=round_run_id(info.run_id, number),
            workflow_id=info.workflow_id,
            issue=state.issue,
            agent=state.policy.agent,
            prompt_version="round@1",
            started_at=workflow.now(),
        )
        title = f"Round {number} ({kind}, asked by @{request.requested_by})"
        admission = workflow.patched(ROUND_ADMISSION_PATCH)
        if admission and not await self._await_slot(state, title, number):
            await self._comment(state, f"round-{number}", f"{title} did not start: rounds were stopped.")
            await release_slot(info.workflow_id)
            return
        await self._comment(state, f"round-{number}", f"{title} is running.")
        prepared, home, moves = False, None, 0
        try:
            issue = await workflow.execute_activity_method(
                GitHubActivities.fetch_issue,
                run,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            while True:
                self._step = "clone"
                workspace = await workflow.execute_activity_method(
                    RoundActivities.prepare_round_workspace,
                    RoundWorkspaceInput(
                        run=run, issue=issue, branch=state.branch, merge_base=request.kind == "conflict"
                    ),
                    start_to_close_timeout=GIT_ALLOWANCE,
                    heartbeat_timeout=timedelta(seconds=state.policy.heartbeat_timeout_seconds),
                    retry_policy=QUICK_RETRY,
                )
                prepared, home = True, workspace.task_queue
                try:
                    outcome = await work_round(
                        state, request, run, issue, workspace, number=number, step=self._set_step
                    )
                    break
                except RoundHostLost as lost:
                    if moves >= MAX_REHOMES or not workflow.patched(ROUND_REHOME_PATCH):
                        raise lost.error from None
                    moves += 1
                    prepared = False
                    if not lost.unreachable:  # else nobody polls its queue; the orphan reaper frees its disk
                        await self._cleanup(run, home, state)
                    await self._comment(
                        state,
                        f"round-{number}",
                        f"{title} lost the worker holding its worktree ({lost.detail}); it starts again "
                        f"on a fresh one (move {moves} of at most {MAX_REHOMES}).",
                    )
        except ActivityError as error:
            outcome = f"failed: {failure_detail(error)}"
        finally:
            if prepared:
                await self._cleanup(run, home, state)
            if admission:
                await release_slot(info.workflow_id)
        if not outcome.startswith(PUSHED):
            self._without_push += 1
        await self._comment(state, f"round-{number}", f"{title} {outcome}")

    async def _await_slot(self, state: ConversationInput, title: str, number: int) -> bool:
        """A round's agent takes a slot like a run's, under the same limits and budgets, so that one
        busy pull request cannot take every agent slot. False when the rounds stop while it waits."""
        said: list[str] = []

        async def queued(answer: AdmissionAnswer) -> None:
            self._step, self._admission_woken = "queued", False
            reason = answer.reason or "the concurrency limits are reached"
            if reason not in said:  # once per reason, not at every poll
                said.append(reason)
                await self._comment(state, f"round-{number}", f"{title} waits for a slot: {reason}.")

        return await await_slot(
            AdmissionRequest(
                workflow_id=workflow.info().workflow_id,
                project=state.issue.repo.full_name,
                agent=state.policy.agent,
                model=None,
                requested_at=workflow.now(),
            ),
            queued=queued,
            look_again=lambda: self._admission_woken,
            given_up=lambda: self._stopped,
        )

    async def _summarize(self, state: ConversationInput) -> None:
        """What the rounds came to, for evolution's scores; named by this conversation, so it counts
        once however often it is published."""
        try:
            await workflow.execute_activity_method(
                RoundActivities.publish_follow_up,
                FollowUpSummaryInput(
                    workflow_id=workflow.info().workflow_id,
                    issue=state.issue,
                    number=state.number,
                    rounds=dict(self._counts),
                    rounds_without_push=self._without_push,
                    ci_stopped="ci" in self._stopped_kinds,
                ),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
        except ActivityError as error:  # the run then scores as if it had no rounds; the PR is unharmed
            workflow.logger.warning("follow-up summary not published: %s", failure_detail(error))

    def _set_step(self, step: str) -> None:
        self._step = step

    async def _cleanup(self, run: RunContext, home: str | None, state: ConversationInput) -> None:
        try:
            await workflow.execute_activity_method(
                IterationActivities.cleanup_workspace,
                run,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
                task_queue=home,
                schedule_to_start_timeout=timedelta(seconds=state.policy.home_start_timeout_seconds)
                if home
                else None,
            )
        except ActivityError as error:  # the orphan reaper removes what is left
            workflow.logger.warning("cleanup of %s failed: %s", run.run_id, failure_detail(error))

    async def _comment(self, state: ConversationInput, key: str, line: str) -> None:
        """The conversation's one comment: a line per round, rewritten as the round goes on."""
        self._lines[key] = line
        body = "**Paid's follow-up rounds on this pull request**\n\n" + "\n".join(
            f"- {text}" for text in self._lines.values()
        )
        try:
            await workflow.execute_activity_method(
                RoundActivities.post_conversation_comment,
                ConversationCommentInput(issue=state.issue, number=state.number, body=body),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
        except ActivityError as error:  # a courtesy; the commit and the replies are what count
            workflow.logger.warning("conversation comment failed: %s", failure_detail(error))
