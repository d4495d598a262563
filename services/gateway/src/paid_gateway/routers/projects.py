"""`/api/projects`: register repositories with Paid, list and change them. Secrets go in, never out."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy.exc import IntegrityError

from paid_contracts import ProjectSnapshot
from paid_gateway import project_registry, projects_repo
from paid_gateway.auth.deps import Admin, Viewer
from paid_gateway.deps import PublisherDep, SessionDep, SettingsDep
from paid_gateway.project_registry import ProjectCache
from paid_gateway.project_schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from paid_runtime.secretbox import SecretBox

log = logging.getLogger(__name__)


def get_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


def get_cache(request: Request) -> ProjectCache:
    cache: ProjectCache = request.app.state.projects
    return cache


BoxDep = Annotated[SecretBox, Depends(get_box)]
CacheDep = Annotated[ProjectCache, Depends(get_cache)]
router = APIRouter(prefix="/api/projects", tags=["projects"])


async def _announce(publish: PublisherDep, event: ProjectSnapshot, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await publish(event)
    except Exception:
        log.exception("announcing %s failed", event.event_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "event bus unavailable") from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_project(
    _: Admin,
    body: ProjectCreate,
    settings: SettingsDep,
    session: SessionDep,
    publish: PublisherDep,
    box: BoxDep,
    cache: CacheDep,
) -> ProjectPublic:
    project = project_registry.new_project(
        body, box=box, default_interval=settings.default_poll_interval_seconds, now=datetime.now(UTC)
    )
    try:
        await projects_repo.add_project(session, project=project)
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"{body.repository} is already registered") from None
    await _announce(publish, project_registry.registered(project), settings.publish_timeout_seconds)
    await session.commit()
    cache.forget(body.repository)
    log.info("project %s registered", body.repository, extra={"repo": body.repository})
    return project_registry.public(project)


@router.get("")
async def list_projects(_: Viewer, session: SessionDep) -> list[ProjectPublic]:
    return [project_registry.public(project) for project in await projects_repo.list_projects(session)]


@router.get("/{owner}/{name}")
async def get_project(_: Viewer, owner: str, name: str, session: SessionDep) -> ProjectPublic:
    project = await projects_repo.get_project(session, key=projects_repo.project_key(f"{owner}/{name}"))
    if project is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{owner}/{name} is not registered")
    return project_registry.public(project)


@router.patch("/{owner}/{name}")
async def update_project(
    _: Admin,
    owner: str,
    name: str,
    body: ProjectUpdate,
    settings: SettingsDep,
    session: SessionDep,
    publish: PublisherDep,
    box: BoxDep,
    cache: CacheDep,
) -> ProjectPublic:
    key = projects_repo.project_key(f"{owner}/{name}")
    project = await projects_repo.get_project(session, key=key, for_update=True)
    if project is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{owner}/{name} is not registered")
    project_registry.apply_update(
        project,
        body,
        box=box,
        rotation=timedelta(hours=settings.secret_rotation_hours),
        now=datetime.now(UTC),
    )
    session.add(project)
    await session.flush()
    await _announce(publish, project_registry.updated(project), settings.publish_timeout_seconds)
    await session.commit()
    cache.forget(f"{owner}/{name}")
    log.info("project %s updated to version %d", key, project.version, extra={"repo": key})
    return project_registry.public(project)
