"""Evolution's activities: all I/O of PromptEvolutionWorkflow and EvolutionSweepWorkflow."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faststream.nats import NatsBroker
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from paid_contracts import ExperimentConcluded, PromptCategory, PromptPromoted
from paid_evolution import experiments, registry
from paid_evolution.arms import ran_with
from paid_evolution.models import ALL_PROJECTS, Experiment, RunRecord
from paid_evolution.mutation import MutationGenerator
from paid_evolution.params import (
    ApproveInput,
    AssessInput,
    Assessment,
    ComparisonStartInput,
    ConcludeInput,
    EvaluateInput,
    EvaluationResult,
    EvolutionInput,
    MutationInput,
    RegisterInput,
    StartedComparison,
    StartInput,
    SweepInput,
    Target,
)
from paid_evolution.registry import RegistryError
from paid_prompt_client import PromptTemplateError
from paid_runtime.messaging import publish_event

log = logging.getLogger(__name__)
PRODUCER = "evolution"


@dataclass
class EvolutionDeps:
    sessions: async_sessionmaker[AsyncSession]
    broker: NatsBroker
    generator: MutationGenerator
    client: Client | None = None  # the sweep starts workflows through it
    task_queue: str = "evolution"


class EvolutionActivities:
    def __init__(self, deps: EvolutionDeps) -> None:
        self.deps = deps

    @activity.defn(name="evolution.assess")
    async def assess(self, request: AssessInput) -> Assessment:
        """The active prompt's recent record outside experiments, with the feedback of its failed runs."""
        since = datetime.now(UTC) - timedelta(days=request.lookback_days)
        async with self.deps.sessions() as session:
            active = await registry.active_version(
                session, category=request.category, project=request.project
            )
            runs = list(
                (
                    await session.exec(
                        select(RunRecord)
                        .where(RunRecord.project == request.project, RunRecord.prompt_version == active.id)
                        .where(col(RunRecord.experiment_id).is_(None), col(RunRecord.score).is_not(None))
                        .where(col(RunRecord.recorded_at) >= since)
                        .order_by(col(RunRecord.recorded_at).desc())
                    )
                ).all()
            )
            is_open = await experiments.open_experiment(
                session, category=request.category, project=request.project
            )
        scores = [run.score for run in runs if run.score is not None]
        failed = [run for run in runs if run.score is not None and run.score < 0.5]
        return Assessment(
            active_version=active.id,
            template=active.template,
            variables=list(active.variables),
            samples=len(scores),
            mean_score=sum(scores) / len(scores) if scores else None,
            feedback=[_feedback(run) for run in failed[: request.feedback_limit]],
            experiment_open=is_open is not None,
        )

    @activity.defn(name="evolution.generate_mutations")
    async def generate_mutations(self, request: MutationInput) -> list[str]:
        async with self.deps.sessions() as session:
            mutation = await registry.active_version(
                session, category=PromptCategory.MUTATION, project=ALL_PROJECTS
            )
        activity.heartbeat("asking for mutations")
        request = request.model_copy(update={"mutation_template": mutation.template})
        return (await self.deps.generator.generate(request))[: request.count]

    @activity.defn(name="evolution.register_candidates")
    async def register_candidates(self, request: RegisterInput) -> list[str]:
        """Registers each valid, new template as a candidate; a generated template that breaks the rules
        (undeclared variables, no compile) is dropped with its reason, never stored."""
        registered: list[str] = []
        async with self.deps.sessions() as session:
            for template in request.templates:
                try:
                    version = await registry.register_version(
                        session,
                        category=request.category,
                        template=template,
                        variables=tuple(request.variables),
                        parent_id=request.parent_version,
                        reason=request.reason,
                    )
                except PromptTemplateError as error:
                    log.warning("mutation of %s dropped: %s", request.parent_version, error)
                    continue
                if version.id != request.parent_version and version.id not in registered:
                    registered.append(version.id)
        return registered

    @activity.defn(name="evolution.start_experiment")
    async def start_experiment(self, request: StartInput) -> str:
        async with self.deps.sessions() as session:
            try:
                experiment = await experiments.start_experiment(
                    session,
                    category=request.category,
                    project=request.project,
                    candidates=request.candidates,
                    settings=request.settings,
                    experiment_id=request.experiment_id,
                )
            except experiments.ExperimentAlreadyOpenError as error:
                raise ApplicationError(str(error), type="ExperimentAlreadyOpen", non_retryable=True) from None
        return experiment.id

    @activity.defn(name="evolution.start_comparison")
    async def start_comparison(self, request: ComparisonStartInput) -> StartedComparison:
        """A person's comparison as an experiment (its id fixed by the caller, so a retry finds it)."""
        comparison = request.comparison
        control_choice, candidate_choices = comparison.choices()
        async with self.deps.sessions() as session:
            try:
                experiment = await experiments.start_experiment(
                    session,
                    category=request.category,
                    project=request.project,
                    candidates=candidate_choices,
                    control_choice=control_choice,
                    settings=request.settings,
                    experiment_id=comparison.experiment_id,
                )
            except experiments.ExperimentAlreadyOpenError as error:
                raise ApplicationError(str(error), type="ExperimentAlreadyOpen", non_retryable=True) from None
            except (ValueError, RegistryError) as error:  # checked when it was asked; the registry moved
                raise ApplicationError(str(error), type="ArmsRefused", non_retryable=True) from None
        return StartedComparison(experiment_id=experiment.id, control_version=experiment.control_version)

    @activity.defn(name="evolution.evaluate")
    async def evaluate(self, request: EvaluateInput) -> EvaluationResult:
        async with self.deps.sessions() as session:
            evaluation = await experiments.evaluate(
                session, experiment_id=request.experiment_id, out_of_time=request.out_of_time
            )
        return EvaluationResult(
            verdict=evaluation.decision.verdict,
            winner_version=evaluation.winner_version,
            stopped_arms=list(evaluation.decision.newly_stopped),
            winner_arm=evaluation.winner_arm,
        )

    @activity.defn(name="evolution.conclude")
    async def conclude(self, request: ConcludeInput) -> str:
        async with self.deps.sessions() as session:
            decision = await experiments.conclude(
                session,
                experiment_id=request.experiment_id,
                verdict=request.verdict,
                winner_version=request.winner_version,
                winner_arm=request.winner_arm,
            )
        await self._announce(request.experiment_id)
        return decision

    @activity.defn(name="evolution.approve")
    async def approve(self, request: ApproveInput) -> str:
        async with self.deps.sessions() as session:
            experiment = await session.get(Experiment, request.experiment_id)
            if experiment is not None and experiment.status == "concluded":
                return experiment.decision or ""  # a retry after the answer was applied
            decision = await experiments.approve(
                session, experiment_id=request.experiment_id, approved=request.approved
            )
        await self._announce(request.experiment_id)
        return decision

    async def _announce(self, experiment_id: str) -> None:
        """Publishes the experiment's end (and a promotion) with ids fixed by the experiment, so a retried
        activity publishes nothing twice."""
        async with self.deps.sessions() as session:
            experiment = await session.get(Experiment, experiment_id)
            assert experiment is not None
            arms = await experiments.summaries(session, experiment_id=experiment_id)
            ran = await experiments.arms_of(session, experiment_id=experiment_id)
            won = ran_with(ran, experiment.winner_arm)
        category = PromptCategory(experiment.category)
        decision = experiment.decision or ""
        await publish_event(
            self.deps.broker,
            ExperimentConcluded(
                event_id=f"{experiment_id}:{decision}",
                producer=PRODUCER,
                experiment_id=experiment_id,
                category=category,
                project=experiment.project,
                control_version=experiment.control_version,
                winner_version=experiment.winner_version,
                decision=decision,
                arms=arms,
                winner_arm=experiment.winner_arm,
            ),
        )
        if decision == "promoted" and experiment.winner_version is not None:
            await publish_event(
                self.deps.broker,
                PromptPromoted(
                    # Not "<id>:promoted": that is the conclusion's own id, and the stream would drop
                    # the promotion as its duplicate.
                    event_id=f"{experiment_id}:prompt_promoted",
                    producer=PRODUCER,
                    category=category,
                    project=experiment.project,
                    version=experiment.winner_version,
                    previous_version=experiment.control_version,
                    experiment_id=experiment_id,
                    reason="experiment",
                    agent=won.agent,
                    model=won.model,
                ),
            )

    @activity.defn(name="evolution.list_targets")
    async def list_targets(self, request: SweepInput) -> list[Target]:
        """Every (category, project) with scored runs in the look-back window."""
        since = datetime.now(UTC) - timedelta(days=request.lookback_days)
        async with self.deps.sessions() as session:
            rows = (
                await session.exec(
                    select(RunRecord.category, RunRecord.project)
                    .where(col(RunRecord.category).is_not(None), col(RunRecord.project).is_not(None))
                    .where(col(RunRecord.recorded_at) >= since)
                    .group_by(col(RunRecord.category), col(RunRecord.project))
                    .having(func.count() > 0)
                )
            ).all()
        return [Target(category=PromptCategory(c), project=p) for c, p in rows if c and p]

    @activity.defn(name="evolution.start_evolution")
    async def start_evolution(self, request: EvolutionInput) -> bool:
        """Starts the target's PromptEvolutionWorkflow unless one runs already (its id is the target)."""
        from paid_evolution.workflows import PromptEvolutionWorkflow, evolution_workflow_id

        if self.deps.client is None:
            raise ApplicationError(
                "this worker has no Temporal client to start workflows", non_retryable=True
            )
        try:
            await self.deps.client.start_workflow(
                PromptEvolutionWorkflow.run,
                request,
                id=evolution_workflow_id(request.category, request.project),
                task_queue=self.deps.task_queue,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True


def _feedback(run: RunRecord) -> str:
    parts = [f"run {run.run_id}: outcome {run.outcome}"]
    if run.pull_request_state:
        parts.append(f"pull request {run.pull_request_state}")
    if run.iterations > 1:
        parts.append(f"{run.iterations} iterations")
    if run.detail:
        parts.append(run.detail[:400])
    return "; ".join(parts)
