"""Experiment arms that are agents and models: what an arm changes beside (or instead of) the prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paid_evolution.models import ExperimentArm, PromptVersion

# Evolution does not know the executor's agents; it keeps names plain, and the executor decides whether
# a run may use the arm's agent (never past the project's allowed agents; else the run is not counted).
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")


@dataclass(frozen=True)
class ArmChoice:
    """An arm that is an agent, a model, a prompt version or a combination; None keeps the control's
    (for the control: the active version, and the run's own agent and model)."""

    version_id: str | None = None
    agent: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class ResolvedArm:
    version: PromptVersion
    experiment_id: str | None = None
    arm: str | None = None
    agent: str | None = None
    model: str | None = None


def checked_names(agent: str | None, model: str | None) -> tuple[str | None, str | None]:
    for kind, name in (("agent", agent), ("model", model)):
        if name is not None and not PLAIN_NAME.fullmatch(name):
            raise ValueError(f"an arm's {kind} must be a plain name")
    return agent, model


def describe(choice: ArmChoice) -> str:
    parts = [choice.version_id or "the active version"]
    parts += [f"{kind} {name}" for kind, name in (("agent", choice.agent), ("model", choice.model)) if name]
    return ", ".join(parts)


def ran_with(arms: list[ExperimentArm], winner_arm: str | None) -> ArmChoice:
    """What the winning arm ran with, promoted with its version (an experiment recorded before arms were
    named promotes its version alone)."""
    winner = next((arm for arm in arms if arm.arm == winner_arm), None)
    return ArmChoice(agent=winner.agent, model=winner.model) if winner else ArmChoice()
