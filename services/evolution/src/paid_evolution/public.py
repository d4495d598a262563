"""What evolution's API answers and accepts (served to the gateway only; see api.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from paid_contracts import PromptCategory
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.models import Experiment, ExperimentArm
from paid_evolution.params import ArmSpec


class VersionPublic(BaseModel):
    id: str
    category: str
    number: int
    template: str
    variables: list[str]
    content_hash: str
    parent_id: str | None
    reason: str
    status: str
    created_at: datetime


class ActivePublic(BaseModel):
    category: str
    project: str
    version_id: str
    since: datetime
    agent: str | None = None
    model: str | None = None


class ArmPublic(BaseModel):
    arm: str
    version_id: str
    weight: float
    stopped: bool
    stop_reason: str | None
    samples: int
    mean_score: float | None
    agent: str | None = None  # the arm's agent and model, when the arm is one (None: the run's own)
    model: str | None = None
    difference: float | None = None  # against the control
    interval: tuple[float, float] | None = None  # always-valid, at the experiment's corrected alpha
    p_value: float | None = None  # always-valid


class ExperimentPublic(BaseModel):
    id: str
    category: str
    project: str
    control_version: str
    status: str
    decision: str | None
    winner_version: str | None
    # The arm that won, with its agent and model: an agent or model arm shares its prompt version with
    # the control, so `winner_version` alone does not say which arm won.
    winner_arm: str | None = None
    winner_agent: str | None = None
    winner_model: str | None = None
    started_at: datetime
    concluded_at: datetime | None
    settings: ExperimentSettings
    arms: list[ArmPublic] = []


class ApprovalAnswer(BaseModel):
    approved: bool


def winner_of(row: Experiment, arms: list[ExperimentArm]) -> ExperimentArm | None:
    """The arm that won; for an experiment concluded before arms were recorded as winners, the one arm
    with the winning version, if only one has it."""
    if row.winner_version is None:
        return None
    if row.winner_arm is not None:
        return next((arm for arm in arms if arm.arm == row.winner_arm), None)
    with_version = [arm for arm in arms if arm.version_id == row.winner_version]
    return with_version[0] if len(with_version) == 1 else None


def experiment_public(row: Experiment, arms: list[ExperimentArm]) -> ExperimentPublic:
    winner = winner_of(row, arms)
    return ExperimentPublic(
        id=row.id,
        category=row.category,
        project=row.project,
        control_version=row.control_version,
        status=row.status,
        decision=row.decision,
        winner_version=row.winner_version,
        winner_arm=winner.arm if winner else None,
        winner_agent=winner.agent if winner else None,
        winner_model=winner.model if winner else None,
        started_at=row.started_at,
        concluded_at=row.concluded_at,
        settings=ExperimentSettings.model_validate(row.settings),
    )


class ComparisonRequest(BaseModel):
    """A person's comparison: these arms against the control (the active version; its agent and model
    unless named), at once. Names are plain; versions must be the category's."""

    category: PromptCategory
    project: str = Field(min_length=3, pattern=r"^[^/\s]+/[^/\s]+$", description="owner/name")
    control: ArmSpec = ArmSpec()
    candidates: list[ArmSpec] = Field(min_length=1, max_length=4)
    settings: ExperimentSettings = ExperimentSettings()
