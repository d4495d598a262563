"""Every route of the app against every kind of caller: no token and a bad token get 401, a role below
the route's gets 403, the route's role and above get past authorization. A route missing from the table
fails `test_every_route_has_a_row`, so a new route cannot ship without its row."""

from __future__ import annotations

from typing import Literal

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from paid_gateway.auth.tokens import Role

Access = Role | Literal["public", "hmac"]
V, OP, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN

MATRIX: dict[tuple[str, str], Access] = {
    ("POST", "/webhooks/github"): "hmac",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/openapi.json"): "public",
    ("GET", "/"): "public",  # the dashboard's page and script hold no data: they call the API
    ("GET", "/static"): "public",
    ("GET", "/api/runs"): V,
    ("GET", "/api/runs/stream"): V,
    ("GET", "/api/runs/{run_id}"): V,
    ("GET", "/api/runs/{run_id}/output"): V,
    ("GET", "/api/runs/{run_id}/output/stream"): V,
    ("POST", "/api/runs/{run_id}/cancel"): OP,
    ("POST", "/api/runs/{run_id}/pause"): OP,
    ("POST", "/api/runs/{run_id}/resume"): OP,
    ("POST", "/api/runs/{run_id}/instruct"): OP,
    ("POST", "/api/runs/{run_id}/retry"): OP,
    ("GET", "/api/costs"): V,
    ("GET", "/api/budgets"): V,
    # A project's own caps decide how much Paid may spend on it: admins only.
    ("GET", "/api/budgets/{owner}/{name}"): A,
    ("PUT", "/api/budgets/{owner}/{name}"): A,
    ("DELETE", "/api/budgets/{owner}/{name}"): A,
    ("GET", "/api/queue"): V,
    ("GET", "/api/me"): V,
    ("POST", "/api/tokens"): A,
    ("GET", "/api/tokens"): A,
    ("DELETE", "/api/tokens/{token_id}"): A,
    ("GET", "/api/projects"): V,
    ("GET", "/api/projects/{owner}/{name}"): V,
    ("POST", "/api/projects"): A,
    ("PATCH", "/api/projects/{owner}/{name}"): A,
    # Evolution's API, forwarded with the internal token (routers/evolution.py).
    ("GET", "/api/evolution/prompts"): V,
    ("GET", "/api/evolution/prompts/{category}/versions"): V,
    ("GET", "/api/evolution/versions/{version_id}"): V,
    ("GET", "/api/evolution/versions/{version_id}/diff"): V,
    ("GET", "/api/evolution/experiments"): V,
    ("GET", "/api/evolution/experiments/{experiment_id}"): V,
    ("POST", "/api/evolution/prompts/{category}/projects/{project:path}/rollback"): OP,
    ("POST", "/api/evolution/experiments/{experiment_id}/approval"): OP,
    ("POST", "/api/evolution/experiments"): OP,
    ("GET", "/api/evolution/audit"): OP,  # the gateway's own audit records of the two above
    # The notifier's channels carry webhook secrets and decide where Paid's news goes: admins only.
    ("GET", "/api/notifications/channels"): A,
    ("PUT", "/api/notifications/channels/{name}"): A,
    ("DELETE", "/api/notifications/channels/{name}"): A,
}
BODIES = {
    "/api/runs/{run_id}/instruct": {"text": "use smaller steps"},
    "/api/tokens": {"name": "m", "role": "viewer"},
    "/api/projects/{owner}/{name}": {"poll_interval_seconds": 30},
    "/api/budgets/{owner}/{name}": {"daily_max_cost_usd": 5},
    "/api/evolution/experiments/{experiment_id}/approval": {"approved": True},
    "/api/evolution/experiments": {
        "category": "coding",
        "project": "acme/app",
        "candidates": [{"agent": "codex"}],
    },
}


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers' too; a mounted app counts as (GET, its path)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None:
            continue
        for method in (route.methods or {"GET"}) - {"HEAD", "OPTIONS"}:
            found.add((method, route.path))
    return found


def test_every_route_has_a_row(api_app: FastAPI) -> None:
    assert routes_of(api_app) == set(MATRIX), "add the new route to MATRIX with the role it needs"


async def _call(base: str, method: str, path: str, token: str | None) -> int:
    url = path.replace("{run_id}", "no-such-run").replace("{token_id}", "no-such-token")
    url = url.replace("{owner}", "acme").replace("{name}", "not-registered")
    url = url.replace("{category}", "coding").replace("{project:path}", "acme/app")
    url = url.replace("{version_id}", "coding@1").replace("{experiment_id}", "no-such-experiment")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx.AsyncClient(base_url=base, timeout=20) as client,
        client.stream(method, url, headers=headers, json=BODIES.get(path)) as response,
    ):
        if response.status_code in (401, 403):
            body = await response.aread()
            assert b'"detail":' in body, "every refusal says why"
        if response.status_code == 401 and path.startswith("/api"):
            assert response.headers["www-authenticate"] == "Bearer"
        return response.status_code


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
async def test_route_authorization(
    live_api: str, role_tokens: dict[Role, str], method: str, path: str
) -> None:
    access = MATRIX[(method, path)]
    if access == "public":
        assert await _call(live_api, method, path, None) not in (401, 403)
        return
    if access == "hmac":  # GitHub's signature, not an API token, guards the webhook
        assert await _call(live_api, method, path, role_tokens[Role.ADMIN]) == 401
        return
    assert await _call(live_api, method, path, None) == 401
    assert await _call(live_api, method, path, "paid_not-a-real-token") == 401
    for role in Role:
        status = await _call(live_api, method, path, role_tokens[role])
        if role.allows(access):
            assert status not in (401, 403), f"{role} should pass on {method} {path}"
        else:
            assert status == 403, f"{role} should be refused on {method} {path}"
