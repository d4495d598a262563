"""The plan the model must answer with, and the checks that make a plan safe to create."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

TASK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class TaskDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="short stable id, lower-case letters, digits and dashes, e.g. t1")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(description="what to change, where, and how to verify it")
    acceptance_criteria: list[str] = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list, description="ids of EARLIER tasks this one needs")


class PlanDraft(BaseModel):
    """Either questions (the issue is unclear), or a summary with tasks in the order to build them."""

    model_config = ConfigDict(frozen=True)

    summary: str = Field(description="two or three sentences: what the plan achieves")
    tasks: list[TaskDraft] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list, description="what must be answered before planning")

    @model_validator(mode="after")
    def _coherent(self) -> PlanDraft:
        if not self.tasks and not self.questions:
            raise ValueError("a plan needs at least one task, or questions when the issue is unclear")
        seen: set[str] = set()
        for task in self.tasks:
            if not TASK_ID.match(task.id):
                raise ValueError(f"task id {task.id!r} must match {TASK_ID.pattern}")
            if task.id in seen:
                raise ValueError(f"task id {task.id!r} is used twice")
            for dependency in task.depends_on:
                if dependency not in seen:
                    raise ValueError(
                        f"task {task.id!r} depends on {dependency!r}, which is not an earlier task "
                        "(list tasks so that dependencies come first)"
                    )
            seen.add(task.id)
        return self
