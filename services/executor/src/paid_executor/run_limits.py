"""The run's limits and retry rules: pure, shared by the execution workflow and PR rounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.common import RetryPolicy

from paid_contracts import RunOutcome
from paid_executor.params import ExecutionInput, IterationOutput

# Infrastructure retries only: activities raise non-retryable errors for what a retry cannot fix.
QUICK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
AGENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
)
QUICK_TIMEOUT = timedelta(seconds=30)
LOOP_PATCH = "fix-forward-loop-1"
HOME_QUEUE_PATCH = "home-queue-1"  # the worktree's activities on its worker's own task queue
# The start record alongside fetching the issue, the prompt alongside preparing the worktree: neither
# need precede them, and the agent starts sooner by both (bench/webhook_to_agent_start.py's profile).
ALONGSIDE_PATCH = "bookkeeping-alongside-1"
# The issue read as a local activity in the run's first workflow task, beside admission: one workflow
# task and one activity dispatch fewer before the agent (bench/webhook_to_agent_start.py's profile).
FETCH_LOCAL_PATCH = "fetch-issue-local-1"
FOLLOW_UP_SUMMARY_PATCH = "follow-up-summary-1"  # an ended conversation publishes its rounds' summary
ROUND_REHOME_PATCH = "round-rehome-1"  # a round whose worktree's worker is lost starts again elsewhere
# A round waits for a slot under the same concurrency limits and budgets as a run, and frees it after.
ROUND_ADMISSION_PATCH = "round-admission-1"
# A run moves as soon as an executor reports its home's process gone (lost_homes.py), not only after
# the home's heartbeat or schedule-to-start timeout.
HOME_LIVENESS_PATCH = "home-liveness-1"
# A moved run's progress comment is posted alongside its new worktree, not before it: the agent starts
# again one activity sooner (bench/executor_failover.py's hops).
MOVE_ALONGSIDE_PATCH = "move-progress-alongside-1"
MAX_REHOMES = 3  # moves of a run to a fresh worktree after losing its worker; then an honest failure
REPEAT_LIMIT = 3  # the same diff or the same failures this many times: the agent is going in circles
GIT_ALLOWANCE = timedelta(minutes=10)  # clone and push, on top of the agent's own time


@dataclass
class LoopLimits:
    started: datetime
    time_limit: float
    max_iterations: int
    first_iteration: int = 1
    rehomes: int = 0


def over_budget(tokens: int, cost: float, request: ExecutionInput) -> str | None:
    if request.max_tokens is not None and tokens >= request.max_tokens:
        return f"the run used {tokens} tokens of its budget of {request.max_tokens}"
    if request.max_cost_usd is not None and cost >= request.max_cost_usd:
        return f"the run spent ${cost:.4f} of its budget of ${request.max_cost_usd:.2f}"
    return None


def stuck_outcome(last: IterationOutput) -> RunOutcome:
    return RunOutcome.TESTS_FAILING if last.failed_checks else RunOutcome.ITERATION_LIMIT
