"""Decides what a verified webhook delivery means for Paid: an event to publish, or why it is ignored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from paid_contracts import (
    BuildRequested,
    Correlation,
    IssueRef,
    PlanRequested,
    RepoRef,
    TriggerSource,
    WorkRequested,
)
from paid_gateway.payloads import IssuesLabeled

PRODUCER = "gateway"


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as GitHub identifies it (`X-GitHub-Event`, `X-GitHub-Delivery`)."""

    event: str
    delivery_id: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def repo(self) -> str | None:
        full_name = (self.payload.get("repository") or {}).get("full_name")
        return full_name if isinstance(full_name, str) else None


@dataclass(frozen=True)
class Ignored:
    reason: str


def interpret(delivery: Delivery, *, build_label: str, plan_label: str) -> WorkRequested | Ignored:
    """The event a delivery asks for, whose `event_id` is the delivery id (the publish's Nats-Msg-Id)."""
    if delivery.event != "issues" or delivery.action != "labeled":
        return Ignored(f"{delivery.event}.{delivery.action or '-'} does not concern Paid")
    try:
        labeled = IssuesLabeled.model_validate(delivery.payload)
    except ValidationError:
        return Ignored("issues.labeled payload lacks the issue, label, repository or sender")
    kinds: dict[str, type[BuildRequested] | type[PlanRequested]] = {
        build_label: BuildRequested,
        plan_label: PlanRequested,
    }
    kind = kinds.get(labeled.label.name)
    if kind is None:
        return Ignored(f"label {labeled.label.name!r} is not one of Paid's labels")
    repo = labeled.repository
    issue = IssueRef(
        repo=RepoRef(owner=repo.owner.login, name=repo.name, clone_url=repo.clone_url),
        number=labeled.issue.number,
    )
    return kind(
        event_id=delivery.delivery_id,
        producer=PRODUCER,
        correlation=Correlation(repo=issue.repo.full_name, issue=issue.number),
        issue=issue,
        label=labeled.label.name,
        actor=labeled.sender.login,
        source=TriggerSource.WEBHOOK,
        source_id=delivery.delivery_id,
    )
