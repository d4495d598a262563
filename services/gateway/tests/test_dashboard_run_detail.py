"""A run's page in headless Chromium: its facts (attempt or round, agent, model, prompt version,
iterations, tokens and their kinds, cost, workflow and trace links), each iteration's diff stats and
checks (a check's output, written in the agent's sandbox, shown as text only), and every attempt and
follow-up round of the same issue, each a link to its own page. Screenshots go to test-artifacts/,
axe-core checks each page."""

from __future__ import annotations

import uuid

import httpx
import pytest
from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import CheckOutcome, IterationSummary, RunOutcome
from paid_contracts.workflow_ids import execution_workflow_id, pull_conversation_workflow_id, round_run_id
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_gateway.auth.tokens import Role
from paid_gateway.projections import projector


async def project(sessions: async_sessionmaker[AsyncSession], *events: projector.RunEvent) -> None:
    for event in events:
        async with sessions() as session:
            await projector.apply(session, event)


HOSTILE_OUTPUT = '<img id="planted" src=x onerror="document.title=1"> assert -1 == 5'
ITERATIONS = (
    IterationSummary(
        number=1,
        files_changed=1,
        insertions=3,
        deletions=0,
        checks=(CheckOutcome(command="pytest -q", exit_code=1, passed=False, output_tail=HOSTILE_OUTPUT),),
        tokens=700,
        cost_usd=0.15,
    ),
    IterationSummary(
        number=2,
        files_changed=2,
        insertions=4,
        deletions=1,
        checks=(CheckOutcome(command="pytest -q", exit_code=0, passed=True),),
        tokens=500,
        cost_usd=0.1,
    ),
)


async def three_runs_of_one_issue(sessions: async_sessionmaker[AsyncSession]) -> tuple[RunScript, ...]:
    """Attempt 1 failed, attempt 2 opened pull request #3, a review then started round 1 on it."""
    repo = f"acme/detail-{uuid.uuid4().hex[:8]}"
    first, second = RunScript(repo), RunScript(repo)
    first.workflow_id = execution_workflow_id(repo, 7, 1)
    second.workflow_id = execution_workflow_id(repo, 7, 2)
    review = RunScript(repo, run_id=round_run_id(str(uuid.uuid4()), 1))
    review.workflow_id = pull_conversation_workflow_id(repo, 3)
    await project(sessions, first.started(), first.finished(RunOutcome.TESTS_FAILING, cost=0.5))
    await project(
        sessions,
        second.started(),
        second.pull_request(),
        second.finished(
            cost=0.25,
            model="demo-model-1",
            cache_read_tokens=600,
            reasoning_tokens=90,
            iteration_summaries=ITERATIONS,
        ),
    )
    await project(sessions, review.started())
    return first, second, review


async def test_runs_say_whether_they_are_an_attempt_or_a_round(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    first, second, review = await three_runs_of_one_issue(sessions)
    viewer = {"Authorization": f"Bearer {role_tokens[Role.VIEWER]}"}
    kinds = {}
    for run in (first, second, review):
        answer = (await api.get(f"/api/runs/{run.run_id}", headers=viewer)).json()
        kinds[run.run_id] = (answer["attempt"], answer["round"])
    assert kinds == {first.run_id: (1, None), second.run_id: (2, None), review.run_id: (1, 1)}
    detail = (await api.get(f"/api/runs/{second.run_id}", headers=viewer)).json()
    assert (detail["model"], detail["cache_read_tokens"], detail["reasoning_tokens"]) == (
        "demo-model-1",
        600,
        90,
    )
    assert [IterationSummary.model_validate(it) for it in detail["iteration_summaries"]] == list(ITERATIONS)
    assert (await api.get(f"/api/runs/{first.run_id}", headers=viewer)).json()["iteration_summaries"] == []


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)")
async def test_a_runs_page_shows_its_facts_and_the_issues_attempts_and_rounds(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    first, second, review = await three_runs_of_one_issue(sessions)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_api + "/")
        await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.VIEWER])
        await page.goto(f"{live_api}/#/runs/{second.run_id}")
        await page.wait_for_selector("#run-status:has-text('succeeded')")
        facts = await page.text_content("#run-facts") or ""
        for fact in (
            "attempt 2",
            "demo",
            "demo-model-1",
            "build-v1",
            "1000 in / 200 out",
            "600 cache read, 90 reasoning",
            "$0.25",
            second.workflow_id,
        ):
            assert fact in facts, (fact, facts)
        first_iteration = await page.text_content("#iterations tr[data-iteration='1']") or ""
        for shown in ("+3", "-0", "pytest -q: failed (exit 1)", "700", "$0.15"):
            assert shown in first_iteration, (shown, first_iteration)
        assert HOSTILE_OUTPUT in first_iteration  # the check's output, as text
        assert await page.locator("#planted").count() == 0  # and never as HTML
        second_iteration = await page.text_content("#iterations tr[data-iteration='2']") or ""
        for shown in ("+4", "-1", "pytest -q: passed"):
            assert shown in second_iteration, (shown, second_iteration)
        assert await page.get_attribute("#trace-link", "href") is not None
        assert await page.get_attribute("#temporal-link", "href") is not None

        await page.wait_for_selector(f"tr[data-attempt-run='{review.run_id}']")
        rows = page.locator("#attempts tbody tr")
        assert await rows.count() == 3
        assert "tests_failing" in (await page.text_content(f"tr[data-attempt-run='{first.run_id}']") or "")
        current = page.locator("#attempts a[aria-current='page']")
        assert await current.text_content() == "attempt 2"
        await page.screenshot(path=screenshot_path("dashboard-run-detail"), full_page=True)
        assert await accessibility_violations(page) == ""

        await page.click(f"tr[data-attempt-run='{review.run_id}'] a")
        await page.wait_for_selector("#run-facts:has-text('round 1 on its pull request')")
        assert await page.text_content("#run-status") == "running"
        await page.screenshot(path=screenshot_path("dashboard-run-round"), full_page=True)
        assert await accessibility_violations(page) == ""
