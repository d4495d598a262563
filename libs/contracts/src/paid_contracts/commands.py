"""Commands to a running agent execution: request-reply subjects the executor serves.

Commands are not events: nothing is streamed or replayed. Each request names the run by its
workflow id (`exec:{owner}/{repo}#{n}`) or by repository and issue; the reply says whether the
workflow took it and, for every command, where the run now stands.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paid_contracts import subjects
from paid_contracts.github import IssueRef


class RunCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    SUBJECT: ClassVar[str]
    schema_version: int = 1
    workflow_id: str | None = Field(default=None, description="exec:{owner}/{repo}#{n}")
    issue: IssueRef | None = Field(default=None, description="the issue, when the workflow id is not known")
    actor: str | None = Field(default=None, description="who asked, for the audit log")

    @model_validator(mode="after")
    def _names_a_run(self) -> RunCommand:
        if self.workflow_id is None and self.issue is None:
            raise ValueError("a command needs the run's workflow_id or its issue")
        return self


class CancelRun(RunCommand):
    SUBJECT: ClassVar[str] = subjects.EXECUTOR_CMD_CANCEL


class PauseRun(RunCommand):
    SUBJECT: ClassVar[str] = subjects.EXECUTOR_CMD_PAUSE


class ResumeRun(RunCommand):
    SUBJECT: ClassVar[str] = subjects.EXECUTOR_CMD_RESUME


class InjectInstruction(RunCommand):
    SUBJECT: ClassVar[str] = subjects.EXECUTOR_CMD_INSTRUCT
    instruction: str = Field(min_length=1, max_length=10_000)


class GetRunStatus(RunCommand):
    SUBJECT: ClassVar[str] = subjects.EXECUTOR_CMD_STATUS


class RunStatusView(BaseModel):
    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    running: bool
    step: str
    iteration: int
    max_iterations: int | None = None
    paused: bool = False
    cancel_requested: bool = False
    tokens: int = 0
    cost_usd: float = 0.0
    last_output: str = ""
    pending_instructions: int = 0


class CommandReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    ok: bool
    error: str | None = None
    status: RunStatusView | None = None


COMMANDS: tuple[type[RunCommand], ...] = (CancelRun, PauseRun, ResumeRun, InjectInstruction, GetRunStatus)
