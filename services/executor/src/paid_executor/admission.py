"""Which waiting runs may start, and in what order: pure, over the admission table's rows.

Limits bound the runs holding a slot at once: in total, per project and per model provider. Waiting runs
are taken in a fair order: round robin between projects, the project served least recently first (then
the one whose oldest run waits longest), and first come first served within a project. A run whose own
project or provider is full does not hold back runs of other projects behind it; a blocked project (its
budget spent) waits without taking a turn.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

NEVER = datetime.min.replace(tzinfo=UTC)
# The model provider of a run, from the model's name first (an agent such as aider or opencode speaks to
# any), else from the agent; "default" when neither says.
MODEL_PREFIXES = (
    ("claude", "anthropic"),
    ("anthropic/", "anthropic"),
    ("gpt", "openai"),
    ("openai/", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex", "openai"),
    ("gemini", "gemini"),
    ("google/", "gemini"),
)
AGENT_PROVIDERS = {"claude": "anthropic", "codex": "openai", "gemini": "gemini"}


def provider_of(agent: str | None, model: str | None) -> str:
    if model:
        lowered = model.lower()
        for prefix, provider in MODEL_PREFIXES:
            if lowered.startswith(prefix):
                return provider
    return AGENT_PROVIDERS.get(agent or "", "default")


@dataclass(frozen=True)
class AdmissionLimits:
    total: int
    per_project: int
    per_provider: int
    projects: Mapping[str, int] = field(default_factory=dict)
    """Per-project overrides of `per_project`, by `owner/repo`."""

    def for_project(self, project: str) -> int:
        return self.projects.get(project, self.per_project)


@dataclass(frozen=True)
class Ticket:
    """A run that waits for a slot or holds one."""

    workflow_id: str
    project: str
    provider: str
    requested_at: datetime
    admitted: bool = False


@dataclass(frozen=True)
class AdmissionPlan:
    admitted: tuple[str, ...]
    """Waiting runs that may start now, in the order they should."""
    positions: Mapping[str, int]
    """Each waiting run's place in the fair order, 1 for the next to start."""
    reasons: Mapping[str, str]
    """Why each waiting run that may not start now waits."""


def fair_order(waiting: Sequence[Ticket], served: Mapping[str, datetime]) -> list[Ticket]:
    """Round robin between projects (least recently served first), FIFO within each."""
    queues: dict[str, deque[Ticket]] = {}
    for ticket in sorted(waiting, key=lambda t: (t.requested_at, t.workflow_id)):
        queues.setdefault(ticket.project, deque()).append(ticket)
    turns = sorted(queues, key=lambda p: (served.get(p, NEVER), queues[p][0].requested_at, p))
    order: list[Ticket] = []
    while turns:
        for project in list(turns):
            order.append(queues[project].popleft())
            if not queues[project]:
                turns.remove(project)
    return order


def plan_admissions(
    tickets: Sequence[Ticket],
    limits: AdmissionLimits,
    *,
    served: Mapping[str, datetime],
    blocked: Mapping[str, str] | None = None,
) -> AdmissionPlan:
    """Fills the free slots with waiting runs in the fair order. `blocked` names the projects that may
    start nothing now and why (a spent budget)."""
    blocked = blocked or {}
    holding = [t for t in tickets if t.admitted]
    total = len(holding)
    projects = Counter(t.project for t in holding)
    providers = Counter(t.provider for t in holding)
    admitted: list[str] = []
    positions: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for position, ticket in enumerate(fair_order([t for t in tickets if not t.admitted], served), 1):
        positions[ticket.workflow_id] = position
        if ticket.project in blocked:
            reasons[ticket.workflow_id] = blocked[ticket.project]
        elif total >= limits.total:
            reasons[ticket.workflow_id] = f"all {limits.total} run slots are taken"
        elif projects[ticket.project] >= limits.for_project(ticket.project):
            reasons[ticket.workflow_id] = (
                f"the project's {limits.for_project(ticket.project)} run slot(s) are taken"
            )
        elif providers[ticket.provider] >= limits.per_provider:
            reasons[ticket.workflow_id] = (
                f"the {limits.per_provider} run slot(s) of {ticket.provider} are taken"
            )
        else:
            admitted.append(ticket.workflow_id)
            total += 1
            projects[ticket.project] += 1
            providers[ticket.provider] += 1
    return AdmissionPlan(admitted=tuple(admitted), positions=positions, reasons=reasons)
