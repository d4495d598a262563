"""`paid prompts` and `paid experiments` against a live gateway whose evolution proxy reaches a stand-in
evolution (evolution_stand_in.Evolution): reading as a viewer, approving and rolling back as an operator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from evolution_stand_in import DIFF, HOSTILE_REASON, INTERNAL_TOKEN, Evolution, serve_evolution
from typer.testing import CliRunner

from paid_cli.main import app
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings


@pytest.fixture
async def evolution() -> AsyncIterator[tuple[Evolution, str]]:
    async with serve_evolution() as served:
        yield served


@pytest.fixture
def api_settings(api_settings: GatewaySettings, evolution: tuple[Evolution, str]) -> GatewaySettings:
    return api_settings.model_copy(
        update={"evolution_api_url": evolution[1], "evolution_api_token": INTERNAL_TOKEN}
    )


async def paid(*args: str, url: str, token: str) -> tuple[int, str, str]:
    """In a thread beside the live gateway's event loop (no process start-up per command: ~1 s each here)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, "--url", url, "--token", token], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


async def test_prompts_and_experiments_from_the_command_line(
    live_api: str, role_tokens: dict[Role, str], evolution: tuple[Evolution, str]
) -> None:
    stand_in, viewer, operator = evolution[0], role_tokens[Role.VIEWER], role_tokens[Role.OPERATOR]
    code, stdout, _ = await paid("prompts", "list", url=live_api, token=viewer)
    assert (code, "coding@1" in stdout) == (0, True)
    code, stdout, _ = await paid(
        "prompts", "list", "--category", "coding", "--json", url=live_api, token=viewer
    )
    assert [(v["id"], v["parent_id"]) for v in json.loads(stdout)] == [
        ("coding@1", None),
        ("coding@2", "coding@1"),
    ]
    code, stdout, _ = await paid("prompts", "diff", "coding@2", url=live_api, token=viewer)
    assert (code, stdout) == (0, DIFF)
    code, stdout, _ = await paid("prompts", "show", "coding@2", url=live_api, token=viewer)
    assert (code, HOSTILE_REASON in stdout) == (0, True)

    code, stdout, _ = await paid("experiments", "show", "exp-1", url=live_api, token=viewer)
    assert code == 0
    assert "[0.080, 0.440]" in stdout
    assert "0.0042" in stdout
    assert "winner candidate-1: agent codex, version coding@2 (awaiting_approval)" in stdout
    code, _, stderr = await paid("experiments", "approve", "exp-1", url=live_api, token=viewer)
    assert (code, "needs the operator role" in stderr, stand_in.approvals) == (4, True, [])

    code, stdout, _ = await paid("experiments", "approve", "exp-1", url=live_api, token=operator)
    assert (code, stdout.strip(), stand_in.approvals) == (0, "exp-1: approved", [b'{"approved":true}'])
    code, stdout, _ = await paid("experiments", "list", "--json", url=live_api, token=viewer)
    assert [(x["id"], x["status"]) for x in json.loads(stdout)] == [("exp-1", "concluded")]
    code, stdout, _ = await paid("prompts", "list", "--json", url=live_api, token=viewer)
    assert {"project": "acme/calc", "version_id": "coding@2"}.items() <= json.loads(stdout)[-1].items()

    code, stdout, _ = await paid(
        "experiments", "rollback", "coding", "acme/calc", url=live_api, token=operator
    )
    assert (code, stdout.strip(), stand_in.rollbacks) == (0, "coding for acme/calc: coding@2 -> coding@1", 1)
    code, _, stderr = await paid("experiments", "approve", "exp-404", url=live_api, token=operator)
    assert (code, "no experiments/exp-404/approval" in stderr) == (3, True)

    async with httpx.AsyncClient(base_url=live_api) as http:
        refused = await http.get("/api/evolution/audit", headers={"Authorization": f"Bearer {viewer}"})
        listed = await http.get("/api/evolution/audit", headers={"Authorization": f"Bearer {operator}"})
    assert refused.status_code == 403
    records = [(r["actor"], r["action"], r["target"], r["status"]) for r in reversed(listed.json())]
    assert records[-3:] == [  # the viewer's refused attempt never reached evolution, nor the record
        ("test-operator", "experiment.approve", "exp-1", 200),
        ("test-operator", "prompt.rollback", "coding:acme/calc", 200),
        ("test-operator", "experiment.approve", "exp-404", 404),
    ]


async def test_a_comparison_of_agents_from_the_command_line(
    live_api: str, role_tokens: dict[Role, str], evolution: tuple[Evolution, str]
) -> None:
    stand_in, operator = evolution[0], role_tokens[Role.OPERATOR]
    code, stdout, _ = await paid(
        "experiments",
        "start",
        "acme/calc",
        "--candidate",
        "agent=codex,model=gpt-5-codex",
        "--candidate",
        "version=coding@2",
        "--control",
        "agent=claude",
        url=live_api,
        token=operator,
    )
    assert (code, stdout.strip()) == (0, "experiment exp-3 started on acme/calc")
    assert stand_in.comparisons == [
        {
            "category": "coding",
            "project": "acme/calc",
            "candidates": [{"agent": "codex", "model": "gpt-5-codex"}, {"version_id": "coding@2"}],
            "control": {"agent": "claude"},
        }
    ]
    code, _, stderr = await paid(
        "experiments", "start", "acme/calc", "--candidate", "command=rm -rf /", url=live_api, token=operator
    )
    assert (code, "an arm is agent=NAME" in stderr, len(stand_in.comparisons)) == (2, True, 1)
