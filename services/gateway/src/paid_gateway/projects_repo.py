"""Data access for projects: keyword-only functions over `gateway.projects`."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.models import Project


def project_key(repository: str) -> str:
    return repository.lower()


async def get_project(session: AsyncSession, *, key: str, for_update: bool = False) -> Project | None:
    statement = select(Project).where(Project.key == key)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_projects(session: AsyncSession) -> list[Project]:
    return list((await session.exec(select(Project).order_by(Project.key))).all())


async def add_project(session: AsyncSession, *, project: Project) -> None:
    """Adds the row and flushes, so a duplicate key raises IntegrityError before anything is announced."""
    session.add(project)
    await session.flush()
