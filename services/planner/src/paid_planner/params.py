"""Inputs and results of the planner's workflow and activities: one pydantic model each."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from paid_contracts import IssueRef


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanStatus(StrEnum):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"


class PlanningInput(_Params):
    issue: IssueRef
    label: str
    actor: str
    request_event_id: str


class PlanStatusUpdate(_Params):
    plan_id: str
    issue: IssueRef
    status: PlanStatus


class IssueDetails(_Params):
    title: str
    state: str
    html_url: str


class AcknowledgeInput(_Params):
    plan_id: str
    issue: IssueRef
    actor: str
    label: str


class Acknowledgement(_Params):
    comment_url: str
    already_posted: bool


class PlanningResult(_Params):
    plan_id: str
    status: PlanStatus
    issue_title: str
    comment_url: str
    detail: str
