"""One iteration of a run's fix-forward loop, as the run's end reports it: the change's size against
the base (counted on the host, from the imported tree) and each check's outcome."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

CHECK_OUTPUT_TAIL_CHARS = 500


class CheckOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    command: str = Field(description="the check's command, from the repository's .paid.yml")
    exit_code: int
    passed: bool
    output_tail: str = Field(
        default="",
        max_length=CHECK_OUTPUT_TAIL_CHARS,
        description="the end of what the check printed: written in the sandbox, untrusted text",
    )


class IterationSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    number: int = Field(ge=1)
    files_changed: int = Field(ge=0, description="files that differ from the base after this iteration")
    insertions: int = Field(ge=0)
    deletions: int = Field(ge=0)
    checks: tuple[CheckOutcome, ...] = ()
    tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)
    budget_exceeded: bool = False
