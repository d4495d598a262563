"""The prompt registry on a real PostgreSQL: seeds, immutable versions, lineage, activation, rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory
from paid_evolution import registry
from paid_prompt_client import DEFAULT_PROMPTS, PromptTemplateError, content_hash

CODING = PromptCategory.CODING
VARIABLES = ("repo", "branch", "number", "title", "body")


def coding_template(extra: str) -> str:
    return "Fix {{ repo }}#{{ number }} on {{ branch }}: {{ title }}\n{{ body }}\n" + extra


async def test_the_registry_is_seeded_with_the_shipped_coding_and_planning_prompts(
    session: AsyncSession,
) -> None:
    for category, version_id in ((CODING, "coding@1"), (PromptCategory.PLANNING, "planning@1")):
        version = await registry.get_version(session, version_id=version_id)
        assert version.template == DEFAULT_PROMPTS[category].template
        assert version.content_hash == content_hash(version.template)
        assert version.status == "active"
        active = await registry.active_version(session, category=category, project="anyone/anything")
        assert active.id == version_id
    assert await registry.seed_defaults(session) == []  # a second start seeds nothing


async def test_same_content_is_the_same_version_and_new_content_a_new_one_with_lineage(
    session: AsyncSession,
) -> None:
    first = await registry.register_version(
        session,
        category=CODING,
        template=coding_template("Be brief."),
        variables=VARIABLES,
        parent_id="coding@1",
        reason="test: shorter",
    )
    again = await registry.register_version(
        session, category=CODING, template=coding_template("Be brief."), variables=VARIABLES
    )
    other = await registry.register_version(
        session,
        category=CODING,
        template=coding_template("Write tests first."),
        variables=VARIABLES,
        parent_id=first.id,
        reason="test: tests first",
    )
    assert again.id == first.id
    assert other.number == first.number + 1
    assert (first.parent_id, first.reason, first.status) == ("coding@1", "test: shorter", "candidate")
    assert other.parent_id == first.id


async def test_a_version_cannot_be_changed_nor_deleted_only_its_status(session: AsyncSession) -> None:
    version = await registry.register_version(
        session, category=CODING, template=coding_template("Immutable."), variables=VARIABLES
    )
    version_id = version.id
    for statement in (
        "UPDATE evolution.prompt_versions SET template = 'changed' WHERE id = :id",
        "UPDATE evolution.prompt_versions SET reason = 'rewritten' WHERE id = :id",
        "DELETE FROM evolution.prompt_versions WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            await session.execute(text(statement), {"id": version_id})
        await session.rollback()
    status = "UPDATE evolution.prompt_versions SET status = 'retired' WHERE id = :id RETURNING status"
    assert (await session.execute(text(status), {"id": version_id})).scalar_one() == "retired"
    await session.commit()


@pytest.mark.parametrize(
    ("template", "variables", "message"),
    [
        ("Fix {{ repo }} {{ secret }}", ("repo",), "undeclared variables: \\['secret'\\]"),
        ("Fix {{ repo }}", ("repo", "title"), "never uses: \\['title'\\]"),
        ("Fix {{ repo }} {{ ci_log }}", ("repo", "ci_log"), "never provides: \\['ci_log'\\]"),
        ("Fix {{ repo ", ("repo",), "does not compile"),
    ],
)
async def test_templates_with_wrong_variables_or_syntax_are_refused(
    session: AsyncSession, template: str, variables: tuple[str, ...], message: str
) -> None:
    with pytest.raises(PromptTemplateError, match=message):
        await registry.register_version(session, category=CODING, template=template, variables=variables)


async def test_activation_is_per_project_and_rollback_restores_the_previous_version(
    session: AsyncSession, project: str
) -> None:
    candidate = await registry.register_version(
        session, category=CODING, template=coding_template(f"For {project}."), variables=VARIABLES
    )
    previous = await registry.activate(session, version_id=candidate.id, project=project, reason="manual")

    assert previous == "coding@1"
    assert (await registry.active_version(session, category=CODING, project=project)).id == candidate.id
    assert (await registry.active_version(session, category=CODING, project="other/repo")).id == "coding@1"
    assert (
        await registry.get_version(session, version_id="coding@1")
    ).status == "active"  # still the default

    assert await registry.rollback(session, category=CODING, project=project) == (candidate.id, "coding@1")
    assert (await registry.active_version(session, category=CODING, project=project)).id == "coding@1"
    assert (await registry.get_version(session, version_id=candidate.id)).status == "retired"
    with pytest.raises(registry.RegistryError, match="rolled back already"):
        await registry.rollback(session, category=CODING, project=project)


async def test_rollback_without_a_promotion_is_refused(session: AsyncSession, project: str) -> None:
    with pytest.raises(registry.RegistryError, match="nothing to roll back"):
        await registry.rollback(session, category=CODING, project=project)
