"""NATS subject names and JetStream streams: the only place they are spelled."""

from __future__ import annotations

from dataclasses import dataclass

GITHUB_BUILD_REQUESTED = "paid.github.build_requested"
GITHUB_PLAN_REQUESTED = "paid.github.plan_requested"
GITHUB_ISSUE_COMMENTED = "paid.github.issue_commented"
GITHUB_PULL_REQUEST_CLOSED = "paid.github.pull_request_closed"
PLAN_TASK_READY = "paid.plan.task_ready"
RUN_STARTED = "paid.run.started"
RUN_FINISHED = "paid.run.finished"
RUN_PULL_REQUEST_OPENED = "paid.run.pull_request_opened"
DEAD_LETTER_PREFIX = "paid.dead"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]


STREAM_GITHUB = StreamSpec("PAID_GITHUB", ("paid.github.>",))
STREAM_PLAN = StreamSpec("PAID_PLAN", ("paid.plan.>",))
STREAM_RUN = StreamSpec("PAID_RUN", ("paid.run.>",))
STREAM_DEAD = StreamSpec("PAID_DEAD", (f"{DEAD_LETTER_PREFIX}.>",))
ALL_STREAMS = (STREAM_GITHUB, STREAM_PLAN, STREAM_RUN, STREAM_DEAD)


def dead_letter_subject(subject: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{subject}"


# Commands: core NATS request-reply (not streamed), owned by the executor, which runs the workflows.
EXECUTOR_CMD_PREFIX = "paid.executor.cmd"
EXECUTOR_CMD_CANCEL = f"{EXECUTOR_CMD_PREFIX}.cancel"
EXECUTOR_CMD_PAUSE = f"{EXECUTOR_CMD_PREFIX}.pause"
EXECUTOR_CMD_RESUME = f"{EXECUTOR_CMD_PREFIX}.resume"
EXECUTOR_CMD_INSTRUCT = f"{EXECUTOR_CMD_PREFIX}.instruct"
EXECUTOR_CMD_STATUS = f"{EXECUTOR_CMD_PREFIX}.status"
