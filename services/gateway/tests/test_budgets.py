"""Spend against caps per project: the pure read model, `GET /api/budgets` over the runs projection, and
the budgets page in headless Chromium (screenshot in test-artifacts/, axe-core)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_gateway.auth.tokens import Role
from paid_gateway.budgets import Cap, ProjectCaps, project_budgets
from paid_gateway.projections.models import RunRow
from paid_gateway.projections.queries import CostRow

DEFAULTS = ProjectCaps(day=Cap(tokens=1000, usd=10.0), month=Cap(tokens=None, usd=100.0))
TODAY = date(2026, 12, 7)


def spend(project: str, day: date, usd: float, tokens: int = 0) -> CostRow:
    return CostRow(project=project, day=day, runs=1, cost_usd=usd, input_tokens=tokens, output_tokens=0)


def test_each_project_has_a_day_and_a_month_line_against_its_caps() -> None:
    rows = [
        spend("acme/calc", TODAY, 4.0, tokens=900),
        spend("acme/calc", date(2026, 12, 2), 50.0),
        spend("acme/calc", date(2026, 11, 30), 999.0),  # last month: in neither line
        spend("Acme/Web", TODAY, 1.0),
    ]

    budgets = project_budgets(
        rows,
        projects=["acme/calc", "acme/web", "acme/quiet"],
        defaults=DEFAULTS,
        today=TODAY,
        own_caps={"ACME/web": ProjectCaps(day=Cap(usd=2.0), month=Cap(usd=5.0))},
    )

    by_name = {p.project: p.lines for p in budgets.projects}
    assert list(by_name) == ["acme/calc", "acme/quiet", "acme/web"]  # the registry's spelling
    calc_day, calc_month = by_name["acme/calc"]
    assert (calc_day.spent_usd, calc_day.spent_tokens, calc_day.runs) == (4.0, 900, 1)
    assert calc_day.used == pytest.approx(0.9)  # tokens are the closer cap: 900 of 1000
    assert (calc_month.starts, calc_month.spent_usd, calc_month.runs) == (date(2026, 12, 1), 54.0, 2)
    assert calc_month.used == pytest.approx(0.54)
    quiet_day, _ = by_name["acme/quiet"]  # registered, nothing spent: the defaults, at zero
    assert (quiet_day.spent_usd, quiet_day.cap_usd, quiet_day.cap_source) == (0.0, 10.0, "default")
    web_day, web_month = by_name["acme/web"]
    assert (web_day.cap_usd, web_day.cap_tokens, web_day.cap_source) == (2.0, None, "project")
    assert web_day.used == pytest.approx(0.5)
    assert web_month.cap_usd == 5.0


def test_no_caps_at_all_is_no_share() -> None:
    unlimited = ProjectCaps(day=Cap(), month=Cap())
    (project,) = project_budgets(
        [spend("a/b", TODAY, 3.0)], projects=[], defaults=unlimited, today=TODAY
    ).projects
    assert [line.used for line in project.lines] == [None, None]


async def add_run(
    sessions: async_sessionmaker[AsyncSession], repo: str, started: datetime, cost: float, tokens: int
) -> None:
    async with sessions() as session:
        session.add(
            RunRow(
                run_id=str(uuid.uuid4()),
                workflow_id=f"exec:{repo}#1:1",
                repo=repo,
                issue_number=1,
                status="succeeded",
                started_at=started,
                finished_at=started,
                cost_usd=cost,
                input_tokens=tokens,
                output_tokens=0,
                updated_at=started,
            )
        )
        await session.commit()


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)")
async def test_the_budgets_page_shows_spend_against_the_default_caps(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    repo = f"acme/budget-{uuid.uuid4().hex[:8]}"
    hostile = f"acme/<img src=x onerror=alert(1)>{uuid.uuid4().hex[:4]}"
    now = datetime.now(UTC)
    await add_run(sessions, repo, now, 15.0, 1_000)
    await add_run(sessions, repo, now.replace(day=1) - timedelta(days=1), 500.0, 1_000)  # last month
    await add_run(sessions, hostile, now, 0.5, 10)

    async with httpx.AsyncClient(base_url=live_api) as http:
        refused = await http.get("/api/budgets")
        answer = await http.get(
            "/api/budgets", headers={"Authorization": f"Bearer {role_tokens[Role.VIEWER]}"}
        )
    assert refused.status_code == 401
    (mine,) = [p for p in answer.json()["projects"] if p["project"] == repo]
    day, month = mine["lines"]
    assert (day["spent_usd"], day["cap_usd"], day["cap_source"]) == (15.0, 20.0, "default")
    assert (month["spent_usd"], month["cap_usd"], month["runs"]) == (15.0, 200.0, 1)

    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_api + "/")
        await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.VIEWER])
        await page.goto(live_api + "/#/budgets")
        row = page.locator(f"#budget-list tr[data-project='{repo}'][data-period='day']")
        await row.wait_for()
        text = await row.text_content() or ""
        assert "$15.00" in text
        assert "$20.00" in text
        assert "75%" in text
        assert "default" in text
        assert hostile in (await page.text_content("#budget-list") or "")  # shown as text, never markup
        assert await page.locator("#budgets img").count() == 0
        assert "executor's ledger" in (await page.text_content("#budgets-note") or "")
        await page.screenshot(path=screenshot_path("dashboard-budgets"), full_page=True)
        assert await accessibility_violations(page) == ""
