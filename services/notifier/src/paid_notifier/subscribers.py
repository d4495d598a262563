"""The notifier's NATS handlers: each logs the event's deliveries before its message is acked."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker

from paid_contracts import (
    BudgetAlerted,
    BudgetExhausted,
    PlanNeedsInput,
    ProjectNeedsAttention,
    PullRequestOpened,
    RunFinished,
    subjects,
)
from paid_notifier.delivery import Dispatcher
from paid_runtime.subscriptions import durable_subscribers

log = logging.getLogger(__name__)
SERVICE = "notifier"


def register(broker: NatsBroker, dispatcher: Dispatcher) -> None:
    subscribe = durable_subscribers(broker, SERVICE)

    @subscribe("run-finished", subjects.RUN_FINISHED)
    async def on_run_finished(event: RunFinished) -> None:
        await _accept(dispatcher, event)

    @subscribe("pull-request-opened", subjects.RUN_PULL_REQUEST_OPENED)
    async def on_pull_request_opened(event: PullRequestOpened) -> None:
        await _accept(dispatcher, event)

    @subscribe("budget-alerted", subjects.BUDGET_ALERTED)
    async def on_budget_alerted(event: BudgetAlerted) -> None:
        await _accept(dispatcher, event)

    @subscribe("budget-exhausted", subjects.BUDGET_EXHAUSTED)
    async def on_budget_exhausted(event: BudgetExhausted) -> None:
        await _accept(dispatcher, event)

    @subscribe("plan-needs-input", subjects.PLAN_NEEDS_INPUT)
    async def on_plan_needs_input(event: PlanNeedsInput) -> None:
        await _accept(dispatcher, event)

    @subscribe("project-needs-attention", subjects.PROJECT_NEEDS_ATTENTION)
    async def on_project_needs_attention(event: ProjectNeedsAttention) -> None:
        await _accept(dispatcher, event)


Notified = (
    RunFinished | PullRequestOpened | BudgetAlerted | BudgetExhausted | PlanNeedsInput | ProjectNeedsAttention
)


async def _accept(dispatcher: Dispatcher, event: Notified) -> None:
    routed = await dispatcher.accept(event)
    log.info("%s %s: %d channel(s)", event.type, event.event_id, routed)
