"""The projects API's model families: what a client sends (Create, Update) and sees (Public).

Tokens and webhook secrets are `SecretStr` on the way in (never printed by repr or logs) and never
part of `ProjectPublic`: a client only learns whether they are set.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from paid_contracts import LabelMapping
from paid_contracts.agents import AGENTS, MODEL_NAME_PATTERN, OPERATOR_ONLY, ChoosableAgentName

REPOSITORY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$"
Polling = Literal["active", "paused", "stopped"]
AppState = Literal["installed", "suspended", "uninstalled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_logins(logins: list[str] | None) -> list[str] | None:
    for login in logins or []:
        if not re.fullmatch(LOGIN_PATTERN, login):
            raise ValueError(f"{login!r} is not a GitHub login")
    return logins


def _check_secret(secret: SecretStr | None) -> SecretStr | None:
    if secret is not None and not secret.get_secret_value().isprintable():
        raise ValueError("must be printable text (no control characters, no lone surrogates)")
    return secret


def _check_agent(agent: object) -> object:
    if not isinstance(agent, str):  # not a name at all (a list is not even hashable): the type's error
        return agent
    if agent in OPERATOR_ONLY:
        raise ValueError(
            f"`{agent}` runs the operator's command line: only the executor's settings choose it"
        )
    if agent not in AGENTS:
        raise ValueError(
            f"unknown agent; Paid knows {', '.join(a for a in AGENTS if a not in OPERATOR_ONLY)}"
        )
    return agent


AGENT_FIELD = Field(default=None, description="the project's agent; null: the executor's PAID_EXECUTOR_AGENT")
MODEL_FIELD = Field(
    default=None,
    pattern=MODEL_NAME_PATTERN,
    description="the model for the project's agent, a plain model name; null: the agent's default",
)


class ProjectCreate(_Strict):
    repository: str = Field(pattern=REPOSITORY_PATTERN, description="owner/name")
    token: SecretStr | None = Field(default=None, description="GitHub token Paid uses for this repository")
    installation_id: int | None = Field(default=None, gt=0, lt=2**63, description="GitHub App installation")
    labels: LabelMapping = Field(default_factory=LabelMapping)
    poll_interval_seconds: float | None = Field(default=None, gt=0, le=86_400)
    polling: Polling = "active"
    webhook_secret: SecretStr | None = Field(default=None, min_length=8)
    allowlist: list[str] = Field(default_factory=list)
    agent: ChoosableAgentName | None = AGENT_FIELD
    agent_model: str | None = MODEL_FIELD

    _logins = field_validator("allowlist")(_check_logins)
    _secrets = field_validator("token", "webhook_secret")(_check_secret)
    _agent = field_validator("agent", mode="before")(_check_agent)


class ProjectUpdate(_Strict):
    """Only the fields given change. A new `webhook_secret` starts a rotation: the previous one stays
    valid for the gateway's `secret_rotation_hours`, or until `end_secret_rotation`. `agent` and
    `agent_model` given as null clear the project's choice (the executor's own setting applies)."""

    token: SecretStr | None = None
    installation_id: int | None = Field(default=None, gt=0, lt=2**63)
    labels: LabelMapping | None = None
    poll_interval_seconds: float | None = Field(default=None, gt=0, le=86_400)
    polling: Polling | None = None
    webhook_secret: SecretStr | None = Field(default=None, min_length=8)
    end_secret_rotation: bool = False
    allowlist: list[str] | None = None
    agent: ChoosableAgentName | None = AGENT_FIELD
    agent_model: str | None = MODEL_FIELD

    _logins = field_validator("allowlist")(_check_logins)
    _secrets = field_validator("token", "webhook_secret")(_check_secret)
    _agent = field_validator("agent", mode="before")(_check_agent)


class ProjectPublic(BaseModel):
    repository: str
    auth: Literal["token", "app"]
    has_token: bool
    installation_id: int | None
    labels: LabelMapping
    poll_interval_seconds: float
    polling: Polling
    allowlist: list[str]
    agent: str | None
    agent_model: str | None
    has_webhook_secret: bool
    previous_secret_valid_until: datetime | None
    app_state: AppState | None = Field(description="the GitHub App installation's state; null for tokens")
    needs_attention: str | None = Field(description="why a person must act on this project, if they must")
    version: int
    created_at: datetime
    updated_at: datetime
