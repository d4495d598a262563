"""The prompt registry: immutable versions with lineage, the active pointer per project, promotions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory
from paid_evolution.models import ALL_PROJECTS, ActivePrompt, Promotion, PromptVersion
from paid_prompt_client import CATEGORY_VARIABLES, DEFAULT_PROMPTS, content_hash, validate_template


class RegistryError(ValueError):
    """A request the registry refuses (unknown version, bad template, nothing to roll back to)."""


def category_of(version_id: str) -> PromptCategory:
    name = version_id.partition("@")[0]
    try:
        return PromptCategory(name)
    except ValueError:
        raise RegistryError(f"{version_id!r} names no prompt category") from None


async def register_version(
    session: AsyncSession,
    *,
    category: PromptCategory,
    template: str,
    variables: tuple[str, ...] | list[str],
    parent_id: str | None = None,
    reason: str = "",
) -> PromptVersion:
    """Adds a version (status candidate), or returns the existing one with the same content.

    The template must compile in the sandbox and use exactly its declared variables, which must be
    ones the category's callers provide. Commits.
    """
    validate_template(template, variables, allowed=CATEGORY_VARIABLES[category])
    digest = content_hash(template)
    existing = await _by_hash(session, category, digest)
    if existing is not None:
        return existing
    if parent_id is not None and await session.get(PromptVersion, parent_id) is None:
        raise RegistryError(f"parent version {parent_id!r} does not exist")
    # Numbers are allocated under a per-category advisory lock, so concurrent registrations never collide.
    await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(f"paid:prompt:{category.value}"))))
    highest = (
        await session.exec(
            select(func.max(PromptVersion.number)).where(PromptVersion.category == category.value)
        )
    ).one()
    number = (highest or 0) + 1
    statement = (
        insert(PromptVersion)
        .values(
            id=f"{category.value}@{number}",
            category=category.value,
            number=number,
            template=template,
            variables=sorted(variables),
            content_hash=digest,
            parent_id=parent_id,
            reason=reason,
            status="candidate",
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )
    await session.exec(statement)
    await session.commit()
    version = await _by_hash(session, category, digest)
    assert version is not None
    return version


async def _by_hash(session: AsyncSession, category: PromptCategory, digest: str) -> PromptVersion | None:
    query = select(PromptVersion).where(
        PromptVersion.category == category.value, PromptVersion.content_hash == digest
    )
    return (await session.exec(query)).first()


async def seed_defaults(session: AsyncSession) -> list[str]:
    """Registers the bundled prompts as `<category>@1` and makes them the default active versions.

    Idempotent: a registry that already has versions of a category is left as it is.
    """
    seeded = []
    for category, default in DEFAULT_PROMPTS.items():
        any_version = await session.exec(
            select(PromptVersion.id).where(PromptVersion.category == category.value).limit(1)
        )
        if any_version.first() is not None:
            continue
        version = await register_version(
            session, category=category, template=default.template, variables=default.variables, reason="seed"
        )
        if version.id != default.version:
            raise RegistryError(f"seeded {version.id}, expected {default.version}")
        await activate(session, version_id=version.id, project=ALL_PROJECTS, reason="seed")
        seeded.append(version.id)
    return seeded


async def get_version(session: AsyncSession, *, version_id: str) -> PromptVersion:
    version = await session.get(PromptVersion, version_id)
    if version is None:
        raise RegistryError(f"no prompt version {version_id!r}")
    return version


async def list_versions(session: AsyncSession, *, category: PromptCategory) -> list[PromptVersion]:
    query = (
        select(PromptVersion)
        .where(PromptVersion.category == category.value)
        .order_by(col(PromptVersion.number))
    )
    return list((await session.exec(query)).all())


async def active_version(session: AsyncSession, *, category: PromptCategory, project: str) -> PromptVersion:
    """The project's own active version, else the default for every project."""
    return (await active_choice(session, category=category, project=project)).version


@dataclass(frozen=True)
class ActiveChoice:
    """What a run outside experiments uses: the active version, and the agent and model an experiment
    promoted with it (None: the run's own choice)."""

    version: PromptVersion
    agent: str | None = None
    model: str | None = None


async def active_choice(session: AsyncSession, *, category: PromptCategory, project: str) -> ActiveChoice:
    for key in (project, ALL_PROJECTS):
        pointer = await session.get(ActivePrompt, (category.value, key))
        if pointer is not None:
            version = await get_version(session, version_id=pointer.version_id)
            return ActiveChoice(version, pointer.agent, pointer.model)
    raise RegistryError(f"no active {category.value} prompt for {project} (was the registry seeded?)")


async def activate(
    session: AsyncSession,
    *,
    version_id: str,
    project: str,
    reason: str,
    experiment_id: str | None = None,
    agent: str | None = None,
    model: str | None = None,
) -> str | None:
    """Points (category, project) at the version, with the agent and model promoted with it; records the
    promotion and what it replaced; returns the previous version."""
    version = await get_version(session, version_id=version_id)
    category = version.category
    pointer = await session.get(ActivePrompt, (category, project))
    if pointer is None and project != ALL_PROJECTS:
        pointer = await session.get(ActivePrompt, (category, ALL_PROJECTS))
    previous = pointer.version_id if pointer else None
    previous_agent, previous_model = (pointer.agent, pointer.model) if pointer else (None, None)
    now = datetime.now(UTC)
    chosen = {"version_id": version_id, "since": now, "agent": agent, "model": model}
    await session.exec(
        insert(ActivePrompt)
        .values(category=category, project=project, **chosen)
        .on_conflict_do_update(index_elements=["category", "project"], set_=chosen)
    )
    session.add(
        Promotion(
            category=category,
            project=project,
            version_id=version_id,
            previous_version_id=previous,
            experiment_id=experiment_id,
            reason=reason,
            at=now,
            agent=agent,
            model=model,
            previous_agent=previous_agent,
            previous_model=previous_model,
        )
    )
    version.status = "active"
    session.add(version)
    await session.flush()
    if previous is not None and previous != version_id:
        await _retire_if_unused(session, previous)
    await session.commit()
    return previous


async def rollback(session: AsyncSession, *, category: PromptCategory, project: str) -> tuple[str, str]:
    """Undoes the last promotion: re-activates the version active before it. Returns (from, to).

    A rollback is itself recorded, so rolling back twice is refused rather than flip-flopping."""
    query = (
        select(Promotion)
        .where(Promotion.category == category.value, Promotion.project == project)
        .order_by(col(Promotion.id).desc())
    )
    last = (await session.exec(query)).first()
    if last is None or last.previous_version_id is None:
        raise RegistryError(f"nothing to roll back for {category.value} prompts of {project}")
    if last.reason == "rollback":
        raise RegistryError(
            f"the last promotion of {category.value} prompts of {project} is rolled back already"
        )
    current = await active_version(session, category=category, project=project)
    await activate(
        session,
        version_id=last.previous_version_id,
        project=project,
        reason="rollback",
        agent=last.previous_agent,
        model=last.previous_model,
    )
    return current.id, last.previous_version_id


async def _retire_if_unused(session: AsyncSession, version_id: str) -> None:
    still_active = await session.exec(
        select(ActivePrompt).where(ActivePrompt.version_id == version_id).limit(1)
    )
    if still_active.first() is None:
        version = await get_version(session, version_id=version_id)
        version.status = "retired"
        session.add(version)
        await session.flush()


async def retire_candidate(session: AsyncSession, *, version_id: str) -> None:
    version = await get_version(session, version_id=version_id)
    if version.status == "candidate":
        version.status = "retired"
        session.add(version)
        await session.commit()
