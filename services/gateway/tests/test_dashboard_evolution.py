"""The dashboard's prompts and experiments pages in headless Chromium, through the gateway's evolution
proxy: a version's diff to its parent, an experiment's arms, a viewer refused, an operator approving and
the promotion showing where the version is active. Screenshots go to test-artifacts/.

Evolution is stood in for by evolution_stand_in.Evolution."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from evolution_stand_in import HOSTILE_REASON, INTERNAL_TOKEN, Evolution, serve_evolution

from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
async def evolution() -> AsyncIterator[tuple[Evolution, str]]:
    async with serve_evolution() as served:
        yield served


@pytest.fixture
def api_settings(api_settings: GatewaySettings, evolution: tuple[Evolution, str]) -> GatewaySettings:
    return api_settings.model_copy(
        update={"evolution_api_url": evolution[1], "evolution_api_token": INTERNAL_TOKEN}
    )


async def test_prompts_diff_experiment_and_approval(
    live_api: str, role_tokens: dict[Role, str], evolution: tuple[Evolution, str]
) -> None:
    stand_in = evolution[0]
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_api + "/")
        await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.VIEWER])
        await page.goto(live_api + "/#/prompts")
        await page.wait_for_selector("tr[data-version-id='coding@2']")
        assert "every project (default)" in (await page.text_content("#active-prompts") or "")
        await page.click("tr[data-version-id='coding@2'] button")
        await page.wait_for_selector("#prompt-diff:has-text('+Run the tests before you stop.')")
        assert await page.text_content("#diff-title") == "Diff of coding@2 to its parent coding@1"
        row = await page.text_content("tr[data-version-id='coding@2']") or ""
        assert HOSTILE_REASON in row  # shown as text: never parsed as markup
        assert await page.locator("#prompts img").count() == 0
        assert await page.title() == "Paid"
        await page.screenshot(path=screenshot_path("dashboard-prompts"), full_page=True)
        assert await accessibility_violations(page) == ""

        await page.click("a[href='#/experiments']")
        await page.click("a[href='#/experiments/exp-1']")
        await page.wait_for_selector("tr[data-arm='candidate-1']")
        arm = await page.text_content("tr[data-arm='candidate-1']") or ""
        assert "[0.080, 0.440]" in arm
        assert "0.0042" in arm
        await page.click("#approve")
        await page.wait_for_selector("#experiment-result:has-text('needs the operator role')")
        assert stand_in.approvals == []

        await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.OPERATOR])
        await page.reload()
        await page.wait_for_selector("#experiment-status:has-text('awaiting_approval')")
        await page.screenshot(path=screenshot_path("dashboard-experiment"), full_page=True)
        assert await accessibility_violations(page) == ""
        await page.click("#approve")
        await page.wait_for_selector("#experiment-status:has-text('concluded')")
        assert await page.text_content("#experiment-result") == "approved"
        assert stand_in.approvals == [b'{"approved":true}']
        assert await page.is_disabled("#approve")
        audit = page.locator("#audit tr[data-action='experiment.approve']").first  # newest first
        await audit.wait_for()
        assert "test-operator (operator)" in (await audit.text_content() or "")
        await page.screenshot(path=screenshot_path("dashboard-experiment-approved"), full_page=True)

        await page.click("a[href='#/prompts']")
        promoted = page.locator("#active-prompts tr", has_text="acme/calc")
        await promoted.wait_for()
        assert "coding@2" in (await promoted.text_content() or "")
        assert "acme/calc" in (await page.text_content("tr[data-version-id='coding@2']") or "")
        await page.screenshot(path=screenshot_path("dashboard-prompts-promoted"), full_page=True)
