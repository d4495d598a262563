"""The few fields of GitHub's webhook payloads the gateway reads; everything else is ignored.

Deliberately narrow and tolerant: GitHub adds fields often, and only these decide what Paid does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Lenient):
    login: str


class Repository(_Lenient):
    name: str
    owner: Account
    clone_url: str | None = None


class Label(_Lenient):
    name: str


class Issue(_Lenient):
    number: int


class IssuesLabeled(_Lenient):
    """`X-GitHub-Event: issues`, `action: labeled`."""

    action: str
    issue: Issue
    label: Label
    repository: Repository
    sender: Account
