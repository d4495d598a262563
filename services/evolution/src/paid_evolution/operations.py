"""What a person does to evolution (through the gateway): roll a promotion back, answer an approval."""

from __future__ import annotations

import uuid

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from paid_contracts import PromptCategory, PromptPromoted
from paid_evolution import experiments, registry
from paid_evolution.arms import checked_arms
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.models import Experiment
from paid_evolution.params import ArmSpec, Comparison, EvolutionInput
from paid_evolution.workflows import PromptEvolutionWorkflow, evolution_workflow_id
from paid_runtime.messaging import publish_event


async def rollback(
    sessions: async_sessionmaker[AsyncSession], broker: NatsBroker, *, category: PromptCategory, project: str
) -> tuple[str, str]:
    """Re-activates the version before the last promotion and announces it. Returns (from, to)."""
    async with sessions() as session:
        current, restored = await registry.rollback(session, category=category, project=project)
        now_active = await registry.active_choice(session, category=category, project=project)
    await publish_event(
        broker,
        PromptPromoted(
            producer="evolution",
            category=category,
            project=project,
            version=restored,
            previous_version=current,
            reason="rollback",
            agent=now_active.agent,
            model=now_active.model,
        ),
    )
    return current, restored


async def answer_approval(
    sessions: async_sessionmaker[AsyncSession], client: Client, *, experiment_id: str, approved: bool
) -> None:
    """Signals the experiment's workflow, which applies the answer (and publishes it) durably."""
    async with sessions() as session:
        experiment = await session.get(Experiment, experiment_id)
    if experiment is None:
        raise LookupError(f"no experiment {experiment_id!r}")
    if experiment.status != "awaiting_approval":
        raise ValueError(f"experiment {experiment_id} awaits no approval (status {experiment.status})")
    workflow_id = evolution_workflow_id(PromptCategory(experiment.category), experiment.project)
    await client.get_workflow_handle_for(PromptEvolutionWorkflow.run, workflow_id).signal(
        PromptEvolutionWorkflow.answer_approval, approved
    )


class EvolutionBusyError(RuntimeError):
    """An evolution of the target runs already (judging, mutating or experimenting): one at a time."""


async def start_comparison(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    task_queue: str,
    category: PromptCategory,
    project: str,
    control: ArmSpec,
    candidates: list[ArmSpec],
    settings: ExperimentSettings,
) -> str:
    """Checks the arms now (ValueError or RegistryError: the caller's mistake), then starts the target's
    evolution on them; answers the experiment's id. ExperimentAlreadyOpenError or EvolutionBusyError
    when the target is already being evolved."""
    comparison = Comparison(experiment_id=str(uuid.uuid4()), control=control, candidates=candidates)
    control_choice, candidate_choices = comparison.choices()
    async with sessions() as session:
        if await experiments.open_experiment(session, category=category, project=project) is not None:
            raise experiments.ExperimentAlreadyOpenError(
                f"an experiment on {category.value} prompts of {project} is open"
            )
        await checked_arms(
            session,
            category=category,
            project=project,
            candidates=candidate_choices,
            control_choice=control_choice,
        )
    evolution = EvolutionInput(category=category, project=project, comparison=comparison, experiment=settings)
    workflow_id = evolution_workflow_id(category, project)
    try:
        await client.start_workflow(
            PromptEvolutionWorkflow.run, evolution, id=workflow_id, task_queue=task_queue
        )
    except WorkflowAlreadyStartedError:
        raise EvolutionBusyError(
            f"an evolution of {category.value} prompts of {project} is running"
        ) from None
    return comparison.experiment_id
