"""Human votes on Paid's work: reactions on its pull requests and on its progress/result comments."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.events import TriggerSource
from paid_contracts.github import RepoRef


class ReactionAction(StrEnum):
    ADDED = "added"
    REMOVED = "removed"


class ReactionChanged(Event):
    """A reaction was added to or removed from an issue/PR (`comment_id` None) or one of its comments.

    `number` is the issue or pull request number; `content` is GitHub's reaction content
    (`+1`, `-1`, `laugh`, `confused`, `heart`, `hooray`, `rocket`, `eyes`).
    """

    SUBJECT: ClassVar[str] = subjects.GITHUB_REACTION_CHANGED
    type: Literal["paid.github.reaction_changed"] = "paid.github.reaction_changed"
    repo: RepoRef
    number: int = Field(gt=0)
    comment_id: int | None = None
    content: str = Field(min_length=1)
    action: ReactionAction = ReactionAction.ADDED
    actor: str
    reaction_id: int = Field(gt=0, description="GitHub's id of the reaction: one vote per id")
    source: TriggerSource
    source_id: str


EVENTS: tuple[type[Event], ...] = (ReactionChanged,)
