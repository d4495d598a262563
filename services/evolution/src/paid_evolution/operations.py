"""What a person does to evolution (through the gateway): roll a promotion back, answer an approval."""

from __future__ import annotations

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from paid_contracts import PromptCategory, PromptPromoted
from paid_evolution import registry
from paid_evolution.models import Experiment
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
