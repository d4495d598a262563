"""Evolution's API (prompts, versions, experiments, rollbacks, approvals) served under the gateway's roles.

Trust boundary: evolution answers only callers that present the internal token the two services share
(`PAID_GATEWAY_EVOLUTION_API_TOKEN`); the dashboard and the CLI never hold it. Here each route first
checks the caller's API token and role (viewers read; changing which prompt runs needs an operator),
then forwards the request with the internal token. Evolution's answer, status included, is passed on.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from paid_gateway.auth.deps import require
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings

log = logging.getLogger(__name__)
PREFIX = "/api/evolution"
ROUTES: tuple[tuple[str, str, Role], ...] = (
    ("GET", "/prompts", Role.VIEWER),
    ("GET", "/prompts/{category}/versions", Role.VIEWER),
    ("GET", "/versions/{version_id}", Role.VIEWER),
    ("GET", "/versions/{version_id}/diff", Role.VIEWER),
    ("GET", "/experiments", Role.VIEWER),
    ("GET", "/experiments/{experiment_id}", Role.VIEWER),
    ("POST", "/prompts/{category}/projects/{project:path}/rollback", Role.OPERATOR),
    ("POST", "/experiments/{experiment_id}/approval", Role.OPERATOR),
)
FORWARDED_TIMEOUT_SECONDS = 30.0

router = APIRouter(tags=["evolution"])


async def forward(request: Request) -> Response:
    settings: GatewaySettings = request.app.state.settings
    if not settings.evolution_api_token:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "evolution's API is not configured here")
    path = "/api" + request.url.path.removeprefix(PREFIX)
    headers = {"Authorization": f"Bearer {settings.evolution_api_token}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(
            base_url=settings.evolution_api_url, timeout=FORWARDED_TIMEOUT_SECONDS, trust_env=False
        ) as client:
            answer = await client.request(
                request.method,
                path,
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
    except httpx.HTTPError as error:
        log.warning("evolution's API did not answer %s %s: %s", request.method, path, error)
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "evolution's API did not answer") from None
    if answer.status_code == status.HTTP_401_UNAUTHORIZED:  # our internal token, not the caller's
        log.error("evolution refused the gateway's internal token: check PAID_GATEWAY_EVOLUTION_API_TOKEN")
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "evolution refused the gateway")
    return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))


for method, path, role in ROUTES:
    router.add_api_route(
        PREFIX + path,
        forward,
        methods=[method],
        dependencies=[Depends(require(role))],
        summary=f"evolution: {method} {path}",
    )
