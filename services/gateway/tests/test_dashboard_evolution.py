"""The dashboard's prompts and experiments pages in headless Chromium, through the gateway's evolution
proxy: a version's diff to its parent, an experiment's arms, a viewer refused, an operator approving and
the promotion showing where the version is active. Screenshots go to test-artifacts/.

Evolution is stood in for by a small HTTP server with evolution's answers (services never import each
other); tests/integration drives the real pair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request

from paid_devstack import free_port, wait_until_async
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_runtime.http import make_server

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"
)
INTERNAL_TOKEN = "internal-token-shared-with-evolution"
HOSTILE_REASON = "<img src=x onerror=\"document.title='owned'\"> mutation from feedback"
DIFF = "--- coding@1\n+++ coding@2\n@@ -1,2 +1,3 @@\n Resolve the issue.\n+Run the tests before you stop.\n"


def version(number: int, parent: int | None, status: str, reason: str) -> dict[str, Any]:
    return {
        "id": f"coding@{number}",
        "category": "coding",
        "number": number,
        "template": "Resolve the issue.\n",
        "variables": [],
        "content_hash": f"{number:064x}",
        "parent_id": f"coding@{parent}" if parent else None,
        "reason": reason,
        "status": status,
        "created_at": "2026-12-01T10:00:00Z",
    }


class Evolution:
    """Evolution's answers for one experiment awaiting approval; an approval promotes its winner."""

    def __init__(self) -> None:
        self.approvals: list[bytes] = []
        self.active = [
            {"category": "coding", "project": "*", "version_id": "coding@1", "since": "2026-12-01T10:00:00Z"}
        ]
        self.experiment: dict[str, Any] = {
            "id": "exp-1",
            "category": "coding",
            "project": "acme/calc",
            "control_version": "coding@1",
            "status": "awaiting_approval",
            "decision": "awaiting_approval",
            "winner_version": "coding@2",
            "started_at": "2026-12-02T10:00:00Z",
            "concluded_at": None,
            "settings": {},
            "arms": [
                {
                    "arm": "control",
                    "version_id": "coding@1",
                    "weight": 0.5,
                    "stopped": False,
                    "stop_reason": None,
                    "samples": 40,
                    "mean_score": 0.55,
                },
                {
                    "arm": "candidate-1",
                    "version_id": "coding@2",
                    "weight": 0.5,
                    "stopped": False,
                    "stop_reason": None,
                    "samples": 41,
                    "mean_score": 0.81,
                    "difference": 0.26,
                    "interval": [0.08, 0.44],
                    "p_value": 0.0042,
                },
            ],
        }
        self.app = FastAPI()

        @self.app.api_route("/api/{rest:path}", methods=["GET", "POST"])
        async def answer(request: Request, rest: str) -> Any:
            if request.headers.get("authorization") != f"Bearer {INTERNAL_TOKEN}":
                raise HTTPException(401, "internal token required")
            if request.method == "POST" and rest == "experiments/exp-1/approval":
                self.approvals.append(await request.body())
                self.experiment |= {"status": "concluded", "decision": "promoted"}
                self.active.append({**self.active[0], "project": "acme/calc", "version_id": "coding@2"})
                return {"experiment_id": "exp-1", "answer": "approved"}
            return self.read(rest)

    def read(self, rest: str) -> Any:
        summary = {k: v for k, v in self.experiment.items() if k != "arms"}
        answers: dict[str, Any] = {
            "prompts": self.active,
            "prompts/coding/versions": [
                version(1, None, "active", "bundled default"),
                version(2, 1, "candidate", HOSTILE_REASON),
            ],
            "versions/coding@2/diff": {"from": "coding@1", "to": "coding@2", "diff": DIFF},
            "experiments": [summary],
            "experiments/exp-1": self.experiment,
        }
        if rest not in answers:
            raise HTTPException(404, f"no {rest}")
        return answers[rest]


@pytest.fixture
async def evolution() -> AsyncIterator[tuple[Evolution, str]]:
    stand_in = Evolution()
    port = free_port()
    server = make_server(stand_in.app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    await wait_until_async(lambda: server.started, timeout=10, what="the stand-in evolution")
    try:
        yield stand_in, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


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

        await page.click("a[href='#/prompts']")
        promoted = page.locator("#active-prompts tr", has_text="acme/calc")
        await promoted.wait_for()
        assert "coding@2" in (await promoted.text_content() or "")
        assert "acme/calc" in (await page.text_content("tr[data-version-id='coding@2']") or "")
        await page.screenshot(path=screenshot_path("dashboard-prompts-promoted"), full_page=True)
