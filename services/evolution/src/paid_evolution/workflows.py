"""PromptEvolutionWorkflow: judge the active prompt, mutate it reflectively, A/B test, promote or discard.
EvolutionSweepWorkflow (on a Temporal schedule) starts one per category and project with recent runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from paid_contracts import PromptCategory

with workflow.unsafe.imports_passed_through():
    from paid_evolution.activities import EvolutionActivities
    from paid_evolution.decisions import Verdict
    from paid_evolution.params import (
        ApproveInput,
        AssessInput,
        Comparison,
        ComparisonStartInput,
        ConcludeInput,
        EvaluateInput,
        EvolutionInput,
        EvolutionResult,
        MutationInput,
        RegisterInput,
        StartInput,
        SweepInput,
    )

DB_TIMEOUT = timedelta(seconds=60)
DB_RETRY = RetryPolicy(maximum_attempts=10)
LLM_TIMEOUT = timedelta(minutes=10)
LLM_HEARTBEAT = timedelta(minutes=2)
LLM_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=10))


def evolution_workflow_id(category: PromptCategory, project: str) -> str:
    """One at a time per category and project: a second start while one runs is refused by Temporal."""
    return f"evolve:{category.value}:{project}"


@workflow.defn
class PromptEvolutionWorkflow:
    def __init__(self) -> None:
        self._approved: bool | None = None
        self._stage = "starting"
        self._experiment_id: str | None = None

    @workflow.signal
    def answer_approval(self, approved: bool) -> None:
        """A person's yes or no to a winner waiting for approval."""
        self._approved = approved

    @workflow.query
    def stage(self) -> str:
        return self._stage

    @workflow.query
    def experiment_id(self) -> str | None:
        return self._experiment_id

    @workflow.run
    async def run(self, request: EvolutionInput) -> EvolutionResult:
        started = workflow.now()
        if request.comparison is not None:
            return await self._compare(request, request.comparison, started)
        self._stage = "assessing"
        assessment = await workflow.execute_activity_method(
            EvolutionActivities.assess,
            AssessInput(
                category=request.category, project=request.project, lookback_days=request.lookback_days
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        result = EvolutionResult(
            outcome="healthy",
            active_version=assessment.active_version,
            mean_score=assessment.mean_score,
            samples=assessment.samples,
        )
        if assessment.experiment_open:
            return result.model_copy(update={"outcome": "experiment_open"})
        if assessment.samples < request.min_samples or assessment.mean_score is None:
            return result.model_copy(update={"outcome": "too_few_samples"})
        if assessment.mean_score >= request.threshold:
            return result

        self._stage = "mutating"
        templates = await workflow.execute_activity_method(
            EvolutionActivities.generate_mutations,
            MutationInput(
                category=request.category,
                parent_version=assessment.active_version,
                template=assessment.template,
                variables=assessment.variables,
                feedback=assessment.feedback,
                count=request.mutations,
            ),
            start_to_close_timeout=LLM_TIMEOUT,
            heartbeat_timeout=LLM_HEARTBEAT,
            retry_policy=LLM_RETRY,
        )
        candidates = await workflow.execute_activity_method(
            EvolutionActivities.register_candidates,
            RegisterInput(
                category=request.category,
                parent_version=assessment.active_version,
                templates=templates,
                variables=assessment.variables,
                reason=f"reflective mutation: mean score {assessment.mean_score:.3f} over "
                f"{assessment.samples} runs, below {request.threshold}",
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if not candidates:
            return result.model_copy(update={"outcome": "no_mutations"})

        self._stage = "experimenting"
        experiment_id = await workflow.execute_activity_method(
            EvolutionActivities.start_experiment,
            StartInput(
                experiment_id=str(workflow.uuid4()),
                category=request.category,
                project=request.project,
                candidates=candidates,
                settings=request.experiment,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        return await self._experiment(request, experiment_id, result, candidates, started)

    async def _compare(
        self, request: EvolutionInput, comparison: Comparison, started: datetime
    ) -> EvolutionResult:
        """A person's comparison: its arms go straight into an experiment, whatever the active prompt's
        record; evaluation, conclusion and approval as for mutations."""
        self._stage = "experimenting"
        begun = await workflow.execute_activity_method(
            EvolutionActivities.start_comparison,
            ComparisonStartInput(
                category=request.category,
                project=request.project,
                comparison=comparison,
                settings=request.experiment,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        result = EvolutionResult(outcome="compared", active_version=begun.control_version)
        return await self._experiment(request, begun.experiment_id, result, [], started)

    async def _experiment(
        self,
        request: EvolutionInput,
        experiment_id: str,
        result: EvolutionResult,
        candidates: list[str],
        started: datetime,
    ) -> EvolutionResult:
        self._experiment_id = experiment_id
        settings = request.experiment
        deadline = workflow.now() + timedelta(days=settings.max_days)
        while True:
            # A durable timer: the worker holds nothing while the experiment gathers runs for days.
            await workflow.sleep(timedelta(hours=settings.check_every_hours))
            evaluation = await workflow.execute_activity_method(
                EvolutionActivities.evaluate,
                EvaluateInput(experiment_id=experiment_id, out_of_time=workflow.now() >= deadline),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            if evaluation.verdict is not Verdict.CONTINUE:
                break

        self._stage = "concluding"
        decision = await workflow.execute_activity_method(
            EvolutionActivities.conclude,
            ConcludeInput(
                experiment_id=experiment_id,
                verdict=evaluation.verdict,
                winner_version=evaluation.winner_version,
                winner_arm=evaluation.winner_arm,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if decision == "awaiting_approval":
            self._stage = "awaiting_approval"
            try:
                await workflow.wait_condition(
                    lambda: self._approved is not None, timeout=timedelta(days=request.approval_timeout_days)
                )
            except TimeoutError:
                self._approved = False  # nobody answered: the control stays
            decision = await workflow.execute_activity_method(
                EvolutionActivities.approve,
                ApproveInput(experiment_id=experiment_id, approved=bool(self._approved)),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        self._stage = "done"
        promoted = decision == "promoted"
        return result.model_copy(
            update={
                "outcome": decision,
                "experiment_id": experiment_id,
                "candidates": candidates,
                "winner_version": evaluation.winner_version if promoted else None,
                "elapsed_days": (workflow.now() - started).total_seconds() / 86400,
            }
        )


@workflow.defn
class EvolutionSweepWorkflow:
    """Run by the evolution schedule: starts an evolution for every category and project seen lately."""

    @workflow.run
    async def run(self, request: SweepInput) -> list[str]:
        targets = await workflow.execute_activity_method(
            EvolutionActivities.list_targets,
            request,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        started: list[str] = []
        defaults = request.evolution
        for target in targets:
            evolution = (
                defaults.model_copy(update={"category": target.category, "project": target.project})
                if defaults is not None
                else EvolutionInput(category=target.category, project=target.project)
            )
            if await workflow.execute_activity_method(
                EvolutionActivities.start_evolution,
                evolution,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            ):
                started.append(evolution_workflow_id(target.category, target.project))
        return started
