"""Evolution's API (prompts, versions, experiments, rollbacks, approvals) served under the gateway's roles.

Trust boundary: evolution answers only callers that present the internal token the two services share
(`PAID_GATEWAY_EVOLUTION_API_TOKEN`); the dashboard and the CLI never hold it. Here each route first
checks the caller's API token and role (viewers read; changing which prompt runs needs an operator),
then forwards the request with the internal token. Evolution's answer, status included, is passed on.
Every operator action (start a comparison, approve, reject, roll back) leaves an audit record in the
gateway's own table, with evolution's answer, readable by operators at `GET /api/evolution/audit`.

Project scopes: a token created with `projects` sees only those projects' active prompts and
experiments; another project's experiment answers 404 (as if it did not exist) and cannot be approved,
rejected or rolled back (the refusal is audited). Prompt versions and diffs are a category's shared
registry, not a project's, and stay readable by any viewer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import httpx
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway import audit
from paid_gateway.auth.deps import Operator, Principal, Viewer
from paid_gateway.config import GatewaySettings
from paid_gateway.deps import SessionDep
from paid_gateway.internal_apis import InternalApi

router = APIRouter(prefix="/api/evolution", tags=["evolution"])


@router.get("/prompts")
async def active_prompts(viewer: Viewer, request: Request) -> Response:
    """Active prompt versions per category and project (`*`: the default, seen by every token)."""
    answer = await forward(request, "/prompts")
    return only_visible(viewer, answer, lambda row: row.get("project") == "*" or viewer.sees(row["project"]))


@router.get("/prompts/{category}/versions")
async def versions(_: Viewer, request: Request, category: str) -> Response:
    """Every version of a category, with lineage and status."""
    return await forward(request, f"/prompts/{quote(category, safe='')}/versions")


@router.get("/versions/{version_id}")
async def version(_: Viewer, request: Request, version_id: str) -> Response:
    return await forward(request, f"/versions/{quote(version_id, safe='')}")


@router.get("/versions/{version_id}/diff")
async def diff(_: Viewer, request: Request, version_id: str) -> Response:
    """Unified diff from the parent (or `?against=ID`)."""
    return await forward(request, f"/versions/{quote(version_id, safe='')}/diff")


@router.get("/experiments")
async def experiments(viewer: Viewer, request: Request) -> Response:
    """Experiments, newest first (`?project=&status=`)."""
    answer = await forward(request, "/experiments")
    return only_visible(viewer, answer, lambda row: viewer.sees(row["project"]))


@router.get("/experiments/{experiment_id}")
async def experiment(viewer: Viewer, request: Request, experiment_id: str) -> Response:
    """Arms with samples, mean score, difference to the control, interval and p-value."""
    answer = await forward(request, f"/experiments/{quote(experiment_id, safe='')}")
    found = answer.status_code == status.HTTP_200_OK
    if found and not viewer.sees(json.loads(bytes(answer.body))["project"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    return answer


@router.post("/prompts/{category}/projects/{project:path}/rollback")
async def rollback(
    operator: Operator, session: SessionDep, request: Request, category: str, project: str
) -> Response:
    """Undo the last promotion of a prompt for a project (owner/name); leaves an audit record."""
    if any(part in ("", ".", "..") for part in project.split("/")):  # forwarded as a path: no traversal
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "project must be owner/name")
    path = f"/prompts/{quote(category, safe='')}/projects/{quote(project)}/rollback"
    target = f"{category}:{project}"
    if not operator.sees(project):
        await refuse(operator, session, "prompt.rollback", target, f"the token does not reach {project}")
    return await audited(operator, session, "prompt.rollback", target, request, path)


@router.post("/experiments", status_code=status.HTTP_202_ACCEPTED)
async def start_comparison(operator: Operator, session: SessionDep, request: Request) -> Response:
    """Compare arms (prompt versions, agents, models) on a project now: `{"category", "project",
    "control", "candidates", "settings"}`; evolution checks them (422) and starts the experiment (202),
    or says the project is being evolved already (409). Leaves an audit record."""
    try:
        asked = json.loads(await request.body())
        project, category = asked.get("project"), asked.get("category")
    except (ValueError, AttributeError):
        project = category = None  # evolution refuses the body with the reason; the record says so
    target = f"{category}:{project}" if isinstance(project, str) else "(no project)"
    if isinstance(project, str) and not operator.sees(project):
        await refuse(operator, session, "experiment.start", target, f"the token does not reach {project}")
    if project is None and operator.projects is not None:
        await refuse(operator, session, "experiment.start", target, "a scoped token names its project")
    return await audited(operator, session, "experiment.start", target, request, "/experiments")


@router.post("/experiments/{experiment_id}/approval")
async def approval(operator: Operator, session: SessionDep, request: Request, experiment_id: str) -> Response:
    """Answer a winner awaiting approval: `{"approved": true}`; leaves an audit record."""
    try:
        approved = json.loads(await request.body()).get("approved") is True
    except (ValueError, AttributeError):
        approved = False  # evolution refuses the body; the record says what was attempted
    action = "experiment.approve" if approved else "experiment.reject"
    path = f"/experiments/{quote(experiment_id, safe='')}/approval"
    if operator.projects is not None:
        project = await experiment_project(request, experiment_id)
        if project is None or not operator.sees(project):
            await refuse(operator, session, action, experiment_id, f"no experiment {experiment_id!r}")
    return await audited(operator, session, action, experiment_id, request, path)


@router.get("/audit")
async def audit_records(
    operator: Operator,
    request: Request,
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Who approved, rejected or rolled back what, newest first (`?target=` an experiment id, or
    category:owner/name). A token scoped to projects reads one of its targets at a time."""
    if operator.projects is not None:
        project = await target_project(request, target) if target else None
        if project is None or not operator.sees(project):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "a token scoped to projects reads the records of one of its targets",
            )
    rows = await audit.records(session, target=target, limit=limit)
    return [row.model_dump(mode="json") for row in rows]


async def audited(
    operator: Principal, session: AsyncSession, action: str, target: str, request: Request, path: str
) -> Response:
    """Forwards, then records the attempt with evolution's status, whether it succeeded or not."""
    try:
        answer = await forward(request, path)
    except HTTPException as error:
        await audit.record(
            session, actor=operator.name, role=operator.role.value, action=action, target=target,
            status=error.status_code, detail=str(error.detail),
        )  # fmt: skip
        raise
    await audit.record(
        session, actor=operator.name, role=operator.role.value, action=action, target=target,
        status=answer.status_code, detail=bytes(answer.body).decode(errors="replace"),
    )  # fmt: skip
    return answer


async def refuse(
    operator: Principal, session: AsyncSession, action: str, target: str, reason: str
) -> NoReturn:
    """Records an action refused for the token's project scope, then answers 404: the token learns
    nothing about a project it does not reach."""
    await audit.record(
        session, actor=operator.name, role=operator.role.value, action=action, target=target,
        status=status.HTTP_404_NOT_FOUND, detail=f"refused by the gateway: {reason}",
    )  # fmt: skip
    raise HTTPException(status.HTTP_404_NOT_FOUND, reason)


def only_visible(
    principal: Principal, answer: Response, visible: Callable[[dict[str, Any]], bool]
) -> Response:
    """Evolution's list answer with only the rows the token's projects reach."""
    if principal.projects is None or answer.status_code != status.HTTP_200_OK:
        return answer
    rows = [row for row in json.loads(bytes(answer.body)) if visible(row)]
    return Response(json.dumps(rows), answer.status_code, media_type="application/json")


async def experiment_project(request: Request, experiment_id: str) -> str | None:
    """The project of an experiment, asked of evolution; None when evolution knows no such experiment."""
    answer = await call(request, "GET", f"/experiments/{quote(experiment_id, safe='')}")
    return str(json.loads(answer.content)["project"]) if answer.status_code == status.HTTP_200_OK else None


async def target_project(request: Request, target: str) -> str | None:
    """The project an audit target belongs to: `category:owner/name`, or an experiment's id."""
    _category, separator, project = target.partition(":")
    if separator and "/" in project:
        return project
    return await experiment_project(request, target)


async def forward(request: Request, path: str) -> Response:
    answer = await call(
        request, request.method, path, params=request.query_params, content=await request.body()
    )
    return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))


async def call(
    request: Request, method: str, path: str, *, params: Any = None, content: bytes = b""
) -> httpx.Response:
    """One request to evolution's API with the internal token; its answer, or a 502/503 of our own."""
    settings: GatewaySettings = request.app.state.settings
    evolution = InternalApi(
        "evolution",
        settings.evolution_api_url,
        settings.evolution_api_token,
        "PAID_GATEWAY_EVOLUTION_API_TOKEN",
    )
    return await evolution.call(method, path, params=params, content=content)
