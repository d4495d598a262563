"""The dashboard in headless Chromium against the real API: sign-in, runs appearing live, a run's
output tailing live. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import RunOutcome
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_gateway.auth.tokens import Role
from paid_gateway.projections import projector
from paid_runtime.temporal import workflow_ui_url

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"
)


async def project(sessions: async_sessionmaker[AsyncSession], *events: projector.RunEvent) -> None:
    for event in events:
        async with sessions() as session:
            await projector.apply(session, event)


async def test_dashboard_follows_runs_and_output_live(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_api + "/")
        await page.wait_for_selector("#login-form")
        await page.screenshot(path=screenshot_path("dashboard-login"), full_page=True)
        assert await accessibility_violations(page) == ""
        await page.fill("#token", "paid_wrong")
        await page.click("#login-form button")
        await page.wait_for_selector("#login-error:has-text('refused')")

        await page.fill("#token", role_tokens[Role.VIEWER])
        await page.click("#login-form button")
        await page.wait_for_selector("#live:has-text('live')")
        assert await page.text_content("#whoami") == "test-viewer (viewer)"

        run = RunScript()
        await project(sessions, run.started())
        row = page.locator(f"tr[data-run-id='{run.run_id}']")
        await row.wait_for(timeout=5000)
        assert await row.locator(".status").text_content() == "running"
        await page.screenshot(path=screenshot_path("dashboard-home"), full_page=True)
        assert await accessibility_violations(page) == ""

        await row.click()
        await page.wait_for_selector("#run-status:has-text('running')")
        await project(sessions, run.output(0, "reading the issue", "editing calc.py"))
        await page.wait_for_selector("#output:has-text('editing calc.py')", timeout=5000)
        expected = workflow_ui_url("http://temporal-ui.test", "default", run.workflow_id)
        assert await page.get_attribute("#temporal-link", "href") == f"{expected}/{run.run_id}/history"
        await project(sessions, run.output(1, "tests pass"), run.finished(RunOutcome.SUCCEEDED))
        await page.wait_for_selector("#run-status:has-text('succeeded')", timeout=5000)
        assert "tests pass" in (await page.text_content("#output") or "")
        await page.wait_for_selector("#tail-state:has-text('ended')", timeout=5000)
        assert await page.is_disabled("#cancel")
        assert await page.get_attribute("#pr-link", "href") == run.finished().pull_request_url
        assert await page.get_attribute("#trace-link", "href") is not None
        await page.screenshot(path=screenshot_path("dashboard-run"), full_page=True)
        assert await accessibility_violations(page) == ""
