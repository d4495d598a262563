"""Temporal workflow ids, types, signal and query names that more than one service uses: the only
place they are spelled. An id comes from the domain, so a redelivered request cannot start a second
run; the attempt number lets a retry or a follow-up round start a new execution on purpose."""

from __future__ import annotations

from enum import StrEnum

EXECUTION_WORKFLOW = "AgentExecutionWorkflow"
FIRST_ATTEMPT = 1


class ExecutionSignal(StrEnum):
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    INSTRUCT = "inject_instruction"
    ADMIT = "admission_wake"  # from the executor itself: a slot freed, a queued run looks again
    HOME_LOST = "home_lost"  # from the executor itself: the process holding the run's worktree is gone


EXECUTION_STATUS_QUERY = "status"


def execution_workflow_id(repository: str, number: int, attempt: int = FIRST_ATTEMPT) -> str:
    """`exec:{owner}/{repo}#{number}:{attempt}`; `repository` is `owner/repo`."""
    if attempt < FIRST_ATTEMPT:
        raise ValueError(f"attempts count from {FIRST_ATTEMPT}, not {attempt}")
    return f"exec:{repository}#{number}:{attempt}"


def parse_execution_workflow_id(workflow_id: str) -> tuple[str, int, int] | None:
    """(`owner/repo`, issue number, attempt) of an execution workflow id; None for any other id."""
    prefix, _, rest = workflow_id.partition(":")
    repository, hash_sign, tail = rest.rpartition("#")
    if prefix != "exec" or not hash_sign or "/" not in repository:
        return None
    number, _, attempt = tail.partition(":")
    if not number.isdigit() or not (attempt or str(FIRST_ATTEMPT)).isdigit():
        return None
    return repository, int(number), int(attempt or FIRST_ATTEMPT)


def legacy_execution_workflow_id(repository: str, number: int) -> str:
    """The id of runs started before ids carried an attempt; commands still find them."""
    return f"exec:{repository}#{number}"


def attempt_of(workflow_id: str) -> int:
    """The attempt an execution workflow id names; a legacy id (no attempt) was the first."""
    _, separator, tail = workflow_id.rpartition(":")
    if separator and "#" not in tail and tail.isdigit():
        return int(tail)
    return FIRST_ATTEMPT


# Issue 21: one durable conversation per pull request Paid opened, owning its follow-up rounds.
PULL_CONVERSATION_WORKFLOW = "PullConversationWorkflow"
PULL_CONVERSATION_STATUS_QUERY = "status"


class ConversationSignal(StrEnum):
    ROUND = "request_round"
    STOP = "stop"


def pull_conversation_workflow_id(repository: str, number: int) -> str:
    """`pr:{owner}/{repo}#{number}`: the pull request's one conversation, whatever the attempt."""
    return f"pr:{repository}#{number}"


def round_run_id(conversation_run_id: str, number: int) -> str:
    """The run id of a pull request's follow-up round: its conversation's Temporal run id and the
    round's number (rounds run inside the conversation, so they have no execution of their own)."""
    return f"{conversation_run_id}-round-{number}"


def round_of(workflow_id: str, run_id: str) -> int | None:
    """The round number a run is, or None for an attempt (an execution of its own)."""
    if not workflow_id.startswith("pr:"):
        return None
    _, separator, tail = run_id.rpartition("-round-")
    return int(tail) if separator and tail.isdigit() else None


# Issue 21, review mode: one review per pull request and pinned head, however often it is asked.
REVIEW_MODE_WORKFLOW = "ReviewModeWorkflow"


def review_mode_workflow_id(repository: str, number: int, head_sha: str) -> str:
    """`review:{owner}/{repo}#{number}@{head_sha}`: a second request for the same head is the same review."""
    return f"review:{repository}#{number}@{head_sha}"
