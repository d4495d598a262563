"""Installation tokens on request: the `paid.github_app.*` request-reply contract (core NATS only).

A service about to act on a repository asks the token minter for a token narrowed to that repository
and to what the job needs; it revokes the token when the job ends. The token travels only in the reply
of a core NATS request (never JetStream), and is excluded from the models' repr so it stays out of logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import subjects

TokenPurpose = Literal["run", "plan", "trust", "issues"]
"""`run`: contents, pull requests and issues write; `plan` and `trust`: read-only; `issues`: issues write
and the rest read-only (the planner's comments, labels and sub-issues)."""
MintErrorKind = Literal[
    "invalid_request", "not_configured", "app_refused", "installation_refused", "unavailable", "no_credential"
]
"""`no_credential`: the repository is no project, or its project has neither an App installation nor a
token of its own (the requester may then use its global token, if it has one)."""
CredentialSource = Literal["app", "project_token"]
CredentialMode = Literal["minter", "global"]
"""A service's setting: `minter` asks for a token per repository and job; `global` uses its own token."""
REPOSITORY_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
JOB_PATTERN = r"^[A-Za-z0-9_.:/#@=+-]{1,200}$"


class InstallationTokenRequest(BaseModel):
    """Sent on `paid.github_app.mint_token`; the reply is an `InstallationTokenReply`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    SUBJECT: ClassVar[str] = subjects.GITHUB_APP_MINT
    schema_version: int = 1
    installation_id: int | None = Field(
        default=None, gt=0, description="absent: the installation (or token) of the repository's project"
    )
    repository: str = Field(pattern=REPOSITORY_PATTERN, description="owner/name: the one repository")
    purpose: TokenPurpose
    allow_workflows: bool = Field(default=False, description="the project allows changing workflows")
    job: str | None = Field(
        default=None,
        pattern=JOB_PATTERN,
        description="a job's own token (e.g. a run id), revoked by `InstallationTokensRelease` at its end; "
        "absent: a token shared by every job of this purpose, left to expire",
    )


class InstallationTokenRevoke(BaseModel):
    """Sent on `paid.github_app.revoke_token` when a job ends; the reply is an `InstallationTokenReply`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    SUBJECT: ClassVar[str] = subjects.GITHUB_APP_REVOKE
    schema_version: int = 1
    token: str = Field(min_length=1, repr=False)


class InstallationTokensRelease(BaseModel):
    """Sent on `paid.github_app.release_job` when a job ends: every token minted for it is revoked.
    Every minter instance answers (no queue group), since any of them may have minted one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    SUBJECT: ClassVar[str] = subjects.GITHUB_APP_RELEASE_JOB
    schema_version: int = 1
    job: str = Field(pattern=JOB_PATTERN)


class InstallationTokenReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    token: str = Field(default="", repr=False)
    expires_at: datetime | None = None
    permissions: dict[str, str] = Field(default_factory=dict)
    source: CredentialSource | None = Field(
        default=None, description="app: a minted installation token; project_token: the project's own"
    )
    login: str = Field(
        default="",
        description="the login the token acts as, when the minter knows it: an App's `<slug>[bot]` (GitHub "
        "refuses `GET /user` to an installation token); empty for a project's own token (ask `GET /user`)",
    )
    error: str = ""
    error_kind: MintErrorKind | None = None
