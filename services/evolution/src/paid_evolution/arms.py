"""Experiment arms that are agents and models: what an arm changes beside (or instead of) the prompt."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory
from paid_evolution import registry
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


async def checked_arms(
    session: AsyncSession,
    *,
    category: PromptCategory,
    project: str,
    candidates: Sequence[str | ArmChoice],
    control_choice: ArmChoice | None = None,
) -> tuple[PromptVersion, ArmChoice, list[ArmChoice]]:
    """The control's version, the control and the candidates, each checked: plain names, versions of the
    category, no candidate equal to the control or to another. Raises ValueError or RegistryError."""
    active = await registry.active_choice(session, category=category, project=project)
    control = active.version
    # The control is what runs use today: the agent and model promoted with the active version, unless
    # the experiment names its own.
    base = control_choice or ArmChoice(agent=active.agent, model=active.model)
    if base.version_id not in (None, control.id):
        raise ValueError(f"the control's version is the active one, {control.id}")
    base = ArmChoice(control.id, *checked_names(base.agent, base.model))
    choices: list[ArmChoice] = []
    for candidate in candidates:
        choice = ArmChoice(candidate) if isinstance(candidate, str) else candidate
        version_id = choice.version_id or control.id
        version = await registry.get_version(session, version_id=version_id)
        choice = ArmChoice(version_id, *checked_names(choice.agent, choice.model))
        if version.category != category.value or choice in (base, *choices):
            raise ValueError(f"{describe(choice)} cannot be a candidate against {describe(base)}")
        choices.append(choice)
    return control, base, choices
