"""The work of one follow-up round inside PullConversationWorkflow (workflow code: deterministic, its
I/O in activities): the agent's one iteration on the round's worktree, on the worker that holds it;
then the commit pushed onto the head the round saw and a reply in each thread it addressed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from paid_executor.activities.iterations import IterationActivities
    from paid_executor.params import IssueDetails, IterationInput, RunContext
    from paid_executor.rounds.activities import RoundActivities
    from paid_executor.rounds.params import (
        ConversationInput,
        RoundPublishInput,
        RoundRequest,
        RoundWorkspaceInfo,
        ThreadRepliesInput,
    )
    from paid_executor.rounds.prompt import ROUND_TITLES, round_prompt
    from paid_executor.run_failures import failure_detail, host_lost
    from paid_executor.run_limits import AGENT_RETRY, GIT_ALLOWANCE, QUICK_RETRY, QUICK_TIMEOUT


PUSHED = "pushed "  # how the line of a round that pushed its work goes on


class RoundHostLost(Exception):
    """The worker holding the round's worktree was lost while its agent ran: the round may start again
    on a fresh worktree, since nothing of it was pushed."""

    def __init__(self, error: ActivityError, *, unreachable: bool) -> None:
        super().__init__(failure_detail(error))
        self.error = error
        self.detail = failure_detail(error)
        self.unreachable = unreachable  # nobody polls its queue: no use asking it to clean up


async def work_round(
    state: ConversationInput,
    request: RoundRequest,
    run: RunContext,
    issue: IssueDetails,
    workspace: RoundWorkspaceInfo,
    *,
    number: int,
    step: Callable[[str], None],
) -> str:
    """The round's agent on its worktree, then its commit pushed and its threads answered; answers the
    end of the round's line in the conversation comment. The worktree's worker lost while the agent
    ran is raised as RoundHostLost (nothing of the round was pushed yet)."""
    if workspace.config is None:
        return f"did not run: {workspace.config_error}"
    if request.kind == "conflict" and not workspace.conflicts:
        return "found that the base merges cleanly now; nothing to resolve."
    policy, home = state.policy, workspace.task_queue
    home_timeout = timedelta(seconds=policy.home_start_timeout_seconds) if home else None
    prompt = round_prompt(
        request,
        repository=state.issue.repo.full_name,
        branch=state.branch,
        number=state.number,
        title=issue.title,
        conflicts=workspace.conflicts,
    )
    step("agent")
    try:
        iteration = await workflow.execute_activity_method(
            IterationActivities.run_iteration,
            IterationInput(
                run=run,
                issue=issue,
                branch=state.branch,
                base_sha=workspace.base_sha,
                iteration=1,
                prompt=prompt,
                config=workspace.config,
                sandbox=policy.sandbox,
                timeout_seconds=policy.agent_timeout_seconds,
                max_tokens=policy.max_tokens,
                max_cost_usd=policy.max_cost_usd,
            ),
            start_to_close_timeout=timedelta(seconds=policy.agent_timeout_seconds) + GIT_ALLOWANCE,
            heartbeat_timeout=timedelta(seconds=policy.heartbeat_timeout_seconds),
            retry_policy=AGENT_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            task_queue=home,
            schedule_to_start_timeout=home_timeout,
        )
    except ActivityError as error:
        if home is not None and (lost := host_lost(error)):
            raise RoundHostLost(error, unreachable=lost == "unreachable") from error
        raise
    if iteration.budget_exceeded:
        return f"stopped: budget exceeded ({iteration.budget_exceeded}); nothing was pushed."
    if iteration.failed_checks:
        names = ", ".join(check.command for check in iteration.failed_checks)
        return f"left failing checks ({names}); nothing was pushed."
    if iteration.forbidden:
        return (
            "changed paths Paid may not change (" + ", ".join(iteration.forbidden) + "); nothing was pushed."
        )
    if not iteration.changed_files:
        return "ended without a change; nothing was pushed."
    step("publish")
    published = await workflow.execute_activity_method(
        RoundActivities.publish_round,
        RoundPublishInput(
            run=run,
            clone_url=issue.clone_url,
            branch=state.branch,
            head_sha=workspace.base_sha,
            message=f"{ROUND_TITLES[request.kind]} on #{state.number} (round {number})\n\n"
            f"{iteration.result.summary.strip()[:2000]}".rstrip(),
            merge_parents=(workspace.head_sha, workspace.merged_base_sha)
            if request.kind == "conflict"
            else (),
            conflicts=workspace.conflicts,
            checked_commit=iteration.commit,
        ),
        start_to_close_timeout=GIT_ALLOWANCE,
        heartbeat_timeout=timedelta(seconds=max(policy.heartbeat_timeout_seconds, 30)),
        retry_policy=QUICK_RETRY,
        task_queue=home,
        schedule_to_start_timeout=home_timeout,
    )
    if request.threads:
        step("reply")
        await workflow.execute_activity_method(
            RoundActivities.reply_in_threads,
            ThreadRepliesInput(
                issue=state.issue,
                number=state.number,
                round_key=request.change_id,
                threads=request.threads,
                body=f"Paid addressed this in {published.head_sha[:12]}.",
            ),
            start_to_close_timeout=QUICK_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
    return f"{PUSHED}{published.head_sha[:12]} ({published.changed_files} file(s) changed)."
