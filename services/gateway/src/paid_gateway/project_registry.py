"""The project registry's rules: rows from API requests, secrets encrypted, snapshots announced.

Every change is announced as a full snapshot (`paid.project.registered` / `.updated`) whose event id is
`project:{key}:v{version}`, published before the transaction commits: when publishing fails nothing is
stored, and a retried request cannot announce one version twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    Correlation,
    LabelMapping,
    ProjectRegistered,
    ProjectUpdated,
    RepoRef,
)
from paid_contracts.agents import AGENTS, OPERATOR_ONLY, ChoosableAgentName
from paid_gateway import projects_repo
from paid_gateway.models import Project
from paid_gateway.project_schemas import AppState, Polling, ProjectCreate, ProjectPublic, ProjectUpdate
from paid_runtime.secretbox import SecretBox

PRODUCER = "gateway"


def new_project(request: ProjectCreate, *, box: SecretBox, default_interval: float, now: datetime) -> Project:
    owner, name = request.repository.split("/", 1)
    return Project(
        key=projects_repo.project_key(request.repository),
        owner=owner,
        name=name,
        auth="app" if request.installation_id and not request.token else "token",
        token_ciphertext=box.encrypt(request.token.get_secret_value()) if request.token else None,
        installation_id=request.installation_id,
        labels=request.labels.model_dump(),
        poll_interval_seconds=request.poll_interval_seconds or default_interval,
        polling=request.polling,
        allowlist=list(request.allowlist),
        agent=request.agent,
        agent_model=request.agent_model,
        webhook_secret_ciphertext=(
            box.encrypt(request.webhook_secret.get_secret_value()) if request.webhook_secret else None
        ),
        version=1,
        created_at=now,
        updated_at=now,
    )


def apply_update(
    project: Project, change: ProjectUpdate, *, box: SecretBox, rotation: timedelta, now: datetime
) -> None:
    if change.token is not None:
        project.token_ciphertext = box.encrypt(change.token.get_secret_value())
        project.auth = "token"
    if change.installation_id is not None:
        project.installation_id = change.installation_id
        if project.token_ciphertext is None:
            project.auth = "app"
    if change.labels is not None:
        project.labels = change.labels.model_dump()
    if change.poll_interval_seconds is not None:
        project.poll_interval_seconds = change.poll_interval_seconds
    if change.polling is not None:
        project.polling = change.polling
    if change.allowlist is not None:
        project.allowlist = list(change.allowlist)
    if "agent" in change.model_fields_set:  # null clears the project's choice
        project.agent = change.agent
    if "agent_model" in change.model_fields_set:
        project.agent_model = change.agent_model
    if change.webhook_secret is not None:
        project.previous_webhook_secret_ciphertext = project.webhook_secret_ciphertext
        project.previous_secret_valid_until = now + rotation if project.webhook_secret_ciphertext else None
        project.webhook_secret_ciphertext = box.encrypt(change.webhook_secret.get_secret_value())
    if change.end_secret_rotation:
        project.previous_webhook_secret_ciphertext = None
        project.previous_secret_valid_until = None
    project.version += 1
    project.updated_at = now


def snapshot(
    project: Project, kind: type[ProjectRegistered] | type[ProjectUpdated]
) -> ProjectRegistered | ProjectUpdated:
    full_name = f"{project.owner}/{project.name}"
    return kind(
        event_id=f"project:{project.key}:v{project.version}",
        producer=PRODUCER,
        correlation=Correlation(project=full_name, repo=full_name),
        project_id=full_name,
        version=project.version,
        repo=RepoRef(owner=project.owner, name=project.name),
        auth="app" if project.auth == "app" else "token",
        token_ciphertext=project.token_ciphertext,
        installation_id=project.installation_id,
        labels=LabelMapping.model_validate(project.labels),
        poll_interval_seconds=project.poll_interval_seconds,
        polling=_polling(project.polling),
        allowlist=tuple(project.allowlist),
        agent=_agent(project.agent),
        agent_model=project.agent_model,
    )


def registered(project: Project) -> ProjectRegistered | ProjectUpdated:
    return snapshot(project, ProjectRegistered)


def updated(project: Project) -> ProjectRegistered | ProjectUpdated:
    return snapshot(project, ProjectUpdated)


def public(project: Project) -> ProjectPublic:
    return ProjectPublic(
        repository=f"{project.owner}/{project.name}",
        auth="app" if project.auth == "app" else "token",
        has_token=project.token_ciphertext is not None,
        installation_id=project.installation_id,
        labels=LabelMapping.model_validate(project.labels),
        poll_interval_seconds=project.poll_interval_seconds,
        polling=_polling(project.polling),
        allowlist=list(project.allowlist),
        agent=project.agent,
        agent_model=project.agent_model,
        has_webhook_secret=project.webhook_secret_ciphertext is not None,
        previous_secret_valid_until=project.previous_secret_valid_until,
        app_state=_app_state(project.app_state),
        needs_attention=project.attention_reason,
        version=project.version,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


def _app_state(value: str | None) -> AppState | None:
    if value not in (None, "installed", "suspended", "uninstalled"):
        raise ValueError(f"unknown App state {value!r}")
    return cast(AppState | None, value)


def _agent(value: str | None) -> ChoosableAgentName | None:
    if value is not None and (value not in AGENTS or value in OPERATOR_ONLY):
        raise ValueError(f"unknown agent {value!r}")
    return cast(ChoosableAgentName | None, value)


def _polling(value: str) -> Polling:
    if value not in ("active", "paused", "stopped"):
        raise ValueError(f"unknown polling state {value!r}")
    return cast(Polling, value)


@dataclass(frozen=True)
class ProjectView:
    """What the webhook path needs of a project, decrypted, held briefly in memory."""

    owner: str
    name: str
    webhook_secrets: tuple[str, ...]
    labels: LabelMapping
    allowlist: tuple[str, ...]
    token: str | None
    installation_id: int | None = None
    app_state: str | None = None
    attention_reason: str | None = None


def view(project: Project, *, box: SecretBox, now: datetime) -> ProjectView:
    secrets = []
    if project.webhook_secret_ciphertext:
        secrets.append(box.decrypt(project.webhook_secret_ciphertext))
    valid_until = project.previous_secret_valid_until
    if project.previous_webhook_secret_ciphertext and (valid_until is None or valid_until > now):
        secrets.append(box.decrypt(project.previous_webhook_secret_ciphertext))
    return ProjectView(
        owner=project.owner,
        name=project.name,
        webhook_secrets=tuple(secrets),
        labels=LabelMapping.model_validate(project.labels),
        allowlist=tuple(project.allowlist),
        token=box.decrypt(project.token_ciphertext) if project.token_ciphertext else None,
        installation_id=project.installation_id,
        app_state=project.app_state,
        attention_reason=project.attention_reason,
    )


class ProjectCache:
    """Project views by repository key, reused for `ttl` seconds; the API drops an entry it changes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox, ttl: float) -> None:
        self._sessions = sessions
        self._box = box
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ProjectView | None]] = {}

    async def get(self, repository: str) -> ProjectView | None:
        key = projects_repo.project_key(repository)
        cached = self._entries.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self._sessions() as session:
            project = await projects_repo.get_project(session, key=key)
        found = view(project, box=self._box, now=datetime.now(UTC)) if project else None
        self._entries[key] = (time.monotonic() + self._ttl, found)
        return found

    def forget(self, repository: str) -> None:
        self._entries.pop(projects_repo.project_key(repository), None)
