"""NATS subject names and JetStream streams: the only place they are spelled."""

from __future__ import annotations

from dataclasses import dataclass

GITHUB_BUILD_REQUESTED = "paid.github.build_requested"
GITHUB_PLAN_REQUESTED = "paid.github.plan_requested"
GITHUB_ISSUE_COMMENTED = "paid.github.issue_commented"
GITHUB_PULL_REQUEST_CLOSED = "paid.github.pull_request_closed"
GITHUB_PULL_REQUEST_REVIEWED = "paid.github.pull_request_reviewed"
GITHUB_PULL_REQUEST_HEAD_MOVED = "paid.github.pull_request_head_moved"
GITHUB_CHECK_RUN_COMPLETED = "paid.github.check_run_completed"
GITHUB_BASE_BRANCH_PUSHED = "paid.github.base_branch_pushed"
GITHUB_COMMIT_STATUS_CHANGED = "paid.github.commit_status_changed"
GITHUB_CHECK_SUITE_COMPLETED = "paid.github.check_suite_completed"
GITHUB_REVIEW_REQUESTED = "paid.github.review_requested"
PLAN_TASK_READY = "paid.plan.task_ready"
PLAN_CREATED = "paid.plan.created"
PLAN_COMPLETED = "paid.plan.completed"
PLAN_NEEDS_INPUT = "paid.plan.needs_input"
RUN_STARTED = "paid.run.started"
RUN_FINISHED = "paid.run.finished"
RUN_PULL_REQUEST_OPENED = "paid.run.pull_request_opened"
DEAD_LETTER_PREFIX = "paid.dead"
PROJECT_REGISTERED = "paid.project.registered"
PROJECT_UPDATED = "paid.project.updated"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]


STREAM_GITHUB = StreamSpec("PAID_GITHUB", ("paid.github.>",))
STREAM_PLAN = StreamSpec("PAID_PLAN", ("paid.plan.>",))
STREAM_RUN = StreamSpec("PAID_RUN", ("paid.run.>",))
STREAM_DEAD = StreamSpec("PAID_DEAD", (f"{DEAD_LETTER_PREFIX}.>",))
STREAM_PROJECT = StreamSpec("PAID_PROJECT", ("paid.project.>",))
ALL_STREAMS: tuple[StreamSpec, ...] = (STREAM_GITHUB, STREAM_PLAN, STREAM_RUN, STREAM_DEAD, STREAM_PROJECT)


def dead_letter_subject(subject: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{subject}"


# Appended by evolution (issue 6): prompt resolution (core NATS request-reply, not JetStream),
# evolution's events, and human reactions on Paid's pull requests and comments.
PROMPT_RESOLVE = "paid.prompt.resolve"
EVOLUTION_PROMPT_PROMOTED = "paid.evolution.prompt_promoted"
EVOLUTION_EXPERIMENT_CONCLUDED = "paid.evolution.experiment_concluded"
GITHUB_REACTION_CHANGED = "paid.github.reaction_changed"
STREAM_EVOLUTION = StreamSpec("PAID_EVOLUTION", ("paid.evolution.>",))
ALL_STREAMS = (*ALL_STREAMS, STREAM_EVOLUTION)

# Live output of a run's agent (see progress.py); kept apart from the lines above for easy merging.
RUN_OUTPUT_APPENDED = "paid.run.output_appended"

# Commands: core NATS request-reply (not streamed), owned by the executor, which runs the workflows.
EXECUTOR_CMD_PREFIX = "paid.executor.cmd"
EXECUTOR_CMD_CANCEL = f"{EXECUTOR_CMD_PREFIX}.cancel"
EXECUTOR_CMD_PAUSE = f"{EXECUTOR_CMD_PREFIX}.pause"
EXECUTOR_CMD_RESUME = f"{EXECUTOR_CMD_PREFIX}.resume"
EXECUTOR_CMD_INSTRUCT = f"{EXECUTOR_CMD_PREFIX}.instruct"
EXECUTOR_CMD_STATUS = f"{EXECUTOR_CMD_PREFIX}.status"
# Projects' own budget caps (budget_caps.py): kept by the executor, which owns the spend ledger.
EXECUTOR_BUDGETS_PREFIX = "paid.executor.budgets"
EXECUTOR_BUDGETS_LIST = f"{EXECUTOR_BUDGETS_PREFIX}.list"
EXECUTOR_BUDGETS_SET = f"{EXECUTOR_BUDGETS_PREFIX}.set"
# Liveness: each executor process answers on `<prefix>.<token of its home queue>` over its own
# connection; a killed process's subscription goes with its connection (paid_executor.liveness).
EXECUTOR_ALIVE_PREFIX = "paid.executor.alive"

# Issue 20: GitHub App installation tokens, minted by the one component holding the App's key
# (the gateway). Core NATS request-reply only: a token must never be stored in a stream.
GITHUB_APP_MINT = "paid.github_app.mint_token"
GITHUB_APP_REVOKE = "paid.github_app.revoke_token"
GITHUB_APP_RELEASE_JOB = "paid.github_app.release_job"

# Issue 22: budget thresholds, published by the executor's metering proxy (see budgets.py).
BUDGET_ALERTED = "paid.budget.alerted"
BUDGET_EXHAUSTED = "paid.budget.exhausted"
STREAM_BUDGET = StreamSpec("PAID_BUDGET", ("paid.budget.>",))
ALL_STREAMS = (*ALL_STREAMS, STREAM_BUDGET)

# A pull request's follow-up rounds, summed up when its conversation ends (evolution scores them).
RUN_FOLLOW_UP_FINISHED = "paid.run.follow_up_finished"

# Issue 22: a project a person must act on (its App suspended or uninstalled, its credential refused),
# announced by the gateway. Not under `paid.project.>`, whose consumers read every message as a snapshot.
PROJECT_NEEDS_ATTENTION = "paid.attention.project_needs_attention"
STREAM_ATTENTION = StreamSpec("PAID_ATTENTION", ("paid.attention.>",))
ALL_STREAMS = (*ALL_STREAMS, STREAM_ATTENTION)
