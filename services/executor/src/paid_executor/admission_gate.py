"""Where a run waits for a slot: before it starts, as `queued`, durably (the workflow's timer and its
row in the admission queue survive any worker's restart). It looks again when a finishing run wakes it
and, as a safety net, every `admission_poll_seconds`. When it ends it frees its slot and wakes the
queued runs that may start now."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from paid_contracts.workflow_ids import ExecutionSignal
    from paid_executor.activities.admission import (
        AdmissionActivities,
        AdmissionAnswer,
        AdmissionRequest,
        ReleaseRequest,
    )
    from paid_executor.params import ExecutionInput
    from paid_executor.run_limits import QUICK_RETRY, QUICK_TIMEOUT
    from paid_executor.run_state import RunState

ADMISSION_PATCH = "admission-1"


class AdmissionGate(RunState):
    def _wake_for_admission(self) -> None:
        self._admission_woken = True

    async def _await_admission(self, request: ExecutionInput) -> bool:
        """Returns once the run holds a slot (True), or when it is cancelled while queued (False)."""
        if not workflow.patched(ADMISSION_PATCH):
            return True  # a run started before admission existed: it never queues
        info = workflow.info()
        ask = AdmissionRequest(
            workflow_id=info.workflow_id,
            project=request.issue.repo.full_name,
            agent=request.trigger_agent or request.experiment_agent or request.project_agent or request.agent,
            model=request.trigger_model or request.experiment_model,
            requested_at=info.start_time,
        )
        self._admission_asked = True

        async def queued(answer: AdmissionAnswer) -> None:
            self._step, self._queue_position, self._queue_reason = "queued", answer.position, answer.reason
            self._admission_woken = False

        admitted = await await_slot(
            ask,
            queued=queued,
            look_again=lambda: self._admission_woken,
            given_up=lambda: self._cancel_requested,
        )
        if admitted:
            self._step, self._queue_position, self._queue_reason = "starting", None, None
        return admitted

    async def _release_admission(self) -> None:
        """Frees the run's slot (or its place in the queue) and wakes the runs that may start now."""
        if self._admission_asked:
            await release_slot(workflow.info().workflow_id)


async def await_slot(
    ask: AdmissionRequest,
    *,
    queued: Callable[[AdmissionAnswer], Awaitable[None]],
    look_again: Callable[[], bool],
    given_up: Callable[[], bool],
) -> bool:
    """Asks for a slot until one is given (True) or `given_up()` (False). While it waits, `queued` hears
    each answer, and it asks again when `look_again()` (a finishing run woke it) or at the poll."""
    while not given_up():
        answer = await workflow.execute_local_activity_method(
            AdmissionActivities.admit_run,
            ask,
            start_to_close_timeout=QUICK_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        if answer.admitted:
            return True
        await queued(answer)
        with contextlib.suppress(TimeoutError):  # the poll: look again
            await workflow.wait_condition(
                lambda: look_again() or given_up(), timeout=timedelta(seconds=answer.poll_seconds)
            )
    return False


async def release_slot(own: str) -> None:
    """Frees `own`'s slot (or its place in the queue) and wakes the waiting workflows that may start now."""
    answer = await workflow.execute_local_activity_method(
        AdmissionActivities.release_run,
        ReleaseRequest(workflow_id=own),
        start_to_close_timeout=QUICK_TIMEOUT,
        retry_policy=QUICK_RETRY,
    )
    woken = [
        workflow.get_external_workflow_handle(workflow_id).signal(ExecutionSignal.ADMIT)
        for workflow_id in answer.wake
        if workflow_id != own
    ]
    for result in await asyncio.gather(*woken, return_exceptions=True):
        if isinstance(result, BaseException):  # it ended meanwhile; its next look finds the slot anyway
            workflow.logger.info("could not wake a queued run: %s", result)
