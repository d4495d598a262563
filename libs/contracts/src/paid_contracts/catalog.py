"""Every event type Paid puts on the wire: one line per contracts module, used by the schema export."""

from __future__ import annotations

from paid_contracts import (
    budgets,
    events,
    follow_ups,
    github_events,
    planning,
    progress,
    projects,
    prompts,
    reactions,
)
from paid_contracts.envelope import Event

ALL_EVENTS: tuple[type[Event], ...] = (
    *events.EVENTS,
    *github_events.EVENTS,
    *projects.EVENTS,
    *planning.EVENTS,
    *prompts.EVENTS,
    *reactions.EVENTS,
    *progress.EVENTS,
    *budgets.EVENTS,
    *follow_ups.EVENTS,
)
