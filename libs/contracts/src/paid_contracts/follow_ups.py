"""What a pull request's follow-up rounds came to, published once when its conversation ends."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.github import IssueRef


def follow_up_event_id(workflow_id: str) -> str:
    """One per conversation (its workflow id is the pull request's and is never reused), so a retried
    publish or a replayed conversation is dropped by the server and by evolution."""
    return f"{workflow_id}:follow-up-finished"


class FollowUpFinished(Event):
    """The rounds a pull request Paid opened needed. How and when the pull request ended is
    `paid.github.pull_request_closed`'s; this says how much work it took after the run."""

    SUBJECT: ClassVar[str] = subjects.RUN_FOLLOW_UP_FINISHED
    type: Literal["paid.run.follow_up_finished"] = "paid.run.follow_up_finished"
    issue: IssueRef
    pull_request_number: int = Field(gt=0)
    rounds: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="rounds started per kind: review, ci, conflict"
    )
    rounds_without_push: int = Field(ge=0, description="rounds that pushed nothing (failed or no change)")
    ci_stopped: bool = Field(description="CI rounds stopped because a check failed the same way twice")


EVENTS: tuple[type[Event], ...] = (FollowUpFinished,)
