"""Which channels an event goes to: by its kind and its project. Pure."""

from __future__ import annotations

from paid_contracts import (
    BudgetAlerted,
    BudgetExhausted,
    Event,
    PlanNeedsInput,
    ProjectNeedsAttention,
    PullRequestOpened,
    RunFinished,
)
from paid_contracts.notifications import ChannelSpec, NotificationKind

NOTIFIED: dict[type[Event], NotificationKind] = {
    RunFinished: NotificationKind.RUN_FINISHED,
    PullRequestOpened: NotificationKind.PR_READY,
    BudgetAlerted: NotificationKind.BUDGET_ALERT,
    BudgetExhausted: NotificationKind.BUDGET_STOP,
    PlanNeedsInput: NotificationKind.NEEDS_INPUT,
    ProjectNeedsAttention: NotificationKind.PROJECT_NEEDS_ATTENTION,
}


def kind_of(event: Event) -> NotificationKind | None:
    return NOTIFIED.get(type(event))


def project_of(event: Event) -> str | None:
    """owner/name; None for an event of no project (the global budget)."""
    if isinstance(event, RunFinished | PullRequestOpened | PlanNeedsInput):
        return event.issue.repo.full_name
    if isinstance(event, BudgetAlerted | BudgetExhausted | ProjectNeedsAttention):
        return event.project
    return event.correlation.project


def route(channels: list[ChannelSpec], event: Event) -> list[ChannelSpec]:
    """A channel of a project gets that project's events; a channel of no project gets every event.
    GitHub compares repository names case-insensitively, and so does this."""
    kind = kind_of(event)
    if kind is None:
        return []
    project = (project_of(event) or "").lower()
    return [
        channel
        for channel in channels
        if kind in channel.events and (channel.project is None or channel.project.lower() == project)
    ]


__all__ = ["ChannelSpec", "NotificationKind", "kind_of", "project_of", "route"]
