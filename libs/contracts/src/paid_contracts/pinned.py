"""The issue's text as it was when a trusted person asked for work: what the planner and the agent see.

A read-only user may still edit an issue they opened after a maintainer labeled it. The trigger event
therefore carries the title and body from that moment, and every service that passes issue text to a
model uses this copy and stops when the live issue no longer matches it. GitHub's REST API does not say
who edited a body, so any change after the trigger stops the run and asks for a new trigger."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

ISSUE_EDITED_ERROR = "IssueEditedAfterTrigger"  # the ApplicationError type services raise on a mismatch


class PinnedText(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    body: str = Field(default="", description="the issue's body; GitHub's null body is the empty string")

    @classmethod
    def of(cls, title: str, body: str | None) -> PinnedText:
        return cls(title=title, body=body or "")

    @property
    def digest(self) -> str:
        """sha256 over the title and body, unambiguous whatever either contains."""
        return hashlib.sha256(json.dumps([self.title, self.body]).encode()).hexdigest()

    def matches(self, title: str, body: str | None) -> bool:
        return PinnedText.of(title, body).digest == self.digest


def edited_after_trigger(label: str | None) -> str:
    """Why a run stopped when the live issue differs from its pinned text: one sentence for the issue."""
    trigger = f"the `{label}` label was applied" if label else "the run was requested"
    return (
        f"the issue's title or body changed after {trigger}. Paid works only from the text a trusted "
        "trigger saw, and GitHub does not say who edited an issue, so the edited text was not passed on. "
        "Apply the label again to run on the current text"
    )
