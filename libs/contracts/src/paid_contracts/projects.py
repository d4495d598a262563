"""Projects: repositories registered with Paid. The gateway owns the registry and announces changes.

Credentials never travel in clear: `token_ciphertext` is the project's GitHub token encrypted with the
platform's secrets key (Fernet), so only services holding that key (the poller) can use it, and the
stream's files hold no usable secret. Webhook secrets stay in the gateway and are not announced.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from paid_contracts import subjects
from paid_contracts.agents import MODEL_NAME_PATTERN, ChoosableAgentName
from paid_contracts.envelope import Event
from paid_contracts.github import RepoRef

# GitHub's own limits on a label's name: 1 to 50 characters; no control characters (PostgreSQL's JSON
# refuses NUL) and valid Unicode (a lone surrogate from a JSON escape cannot be stored or sent).
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]+$")]


# `paid-agent:<agent>` on an issue asks for a build with that agent, as `/paid build agent=<agent>` does:
# by a trusted labeler only, held to the project's allowed agents (docs/agents.md).
AGENT_LABEL_PREFIX = "paid-agent:"


class LabelMapping(BaseModel):
    """The labels that ask Paid for work on this project (GitHub compares label names case-insensitively)."""

    model_config = ConfigDict(frozen=True)

    plan: LabelName = "paid-plan"
    build: LabelName = "paid-build"
    needs_input: LabelName = "paid-needs-input"
    auto: LabelName = "paid-auto"
    review: LabelName = "paid-review"
    fix_ci: LabelName = "paid-fix-ci"
    rebase: LabelName = "paid-rebase"


class ProjectSnapshot(Event):
    """The whole project as registered after a change; consumers keep the highest `version`."""

    project_id: str = Field(description="owner/name of the repository, as registered")
    version: int = Field(ge=1, description="incremented by every change to the project")
    repo: RepoRef
    auth: Literal["token", "app"] = "token"
    token_ciphertext: str | None = Field(
        default=None, description="the GitHub token, Fernet-encrypted with the platform's secrets key"
    )
    installation_id: int | None = Field(default=None, description="GitHub App installation (auth=app)")
    labels: LabelMapping = Field(default_factory=LabelMapping)
    poll_interval_seconds: float = Field(gt=0)
    polling: Literal["active", "paused", "stopped"] = "active"
    allowlist: tuple[str, ...] = Field(default=(), description="logins trusted to trigger Paid")
    agent: ChoosableAgentName | None = Field(
        default=None, description="the project's agent; null: the executor's PAID_EXECUTOR_AGENT"
    )
    agent_model: str | None = Field(
        default=None,
        pattern=MODEL_NAME_PATTERN,
        description="the model for the project's agent; null: the agent's default (or the executor's)",
    )


class ProjectRegistered(ProjectSnapshot):
    SUBJECT: ClassVar[str] = subjects.PROJECT_REGISTERED
    type: Literal["paid.project.registered"] = "paid.project.registered"


class ProjectUpdated(ProjectSnapshot):
    SUBJECT: ClassVar[str] = subjects.PROJECT_UPDATED
    type: Literal["paid.project.updated"] = "paid.project.updated"


class ProjectNeedsAttention(Event):
    """A project now needs a person: its App installation suspended or removed, or its credential
    refused. Announced once per change of the reason (the event id names the project's version).

    `reason` is Paid's own sentence, but may quote GitHub's answer: consumers show it as text only."""

    SUBJECT: ClassVar[str] = subjects.PROJECT_NEEDS_ATTENTION
    type: Literal["paid.attention.project_needs_attention"] = "paid.attention.project_needs_attention"
    project: str = Field(description="owner/name of the repository, as registered")
    version: int = Field(ge=1, description="the project's version that set the reason")
    reason: str
    app_state: str | None = Field(default=None, description="the GitHub App's state, when it has one")


def attention_event_id(project: str, version: int) -> str:
    return f"attention:{project.lower()}:{version}"


EVENTS: tuple[type[Event], ...] = (ProjectRegistered, ProjectUpdated, ProjectNeedsAttention)
