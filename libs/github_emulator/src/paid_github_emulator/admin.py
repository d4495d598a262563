"""The /_emulator admin API: setup and inspection for tests and the demo (unauthenticated, local only)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from paid_github_emulator.emulator import Emulator
from paid_github_emulator.errors import ApiError, not_found
from paid_github_emulator.shapes import Json, timestamp
from paid_github_emulator.state import DeliveryRecord, Permission

router = APIRouter(prefix="/_emulator")


def get_emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


EmulatorDep = Annotated[Emulator, Depends(get_emulator)]


class UserCreate(BaseModel):
    login: str
    token: str | None = None
    name: str | None = None
    email: str | None = None
    site_admin: bool = False


class RepoCreate(BaseModel):
    owner: str
    name: str
    files: dict[str, str] = Field(default_factory=dict)
    default_branch: str = "main"
    private: bool = False
    description: str | None = None


class PermissionSet(BaseModel):
    permission: Permission


class HookCreate(BaseModel):
    url: str
    secret: str | None = None
    events: list[str] = Field(default_factory=lambda: ["*"])
    content_type: str = "json"


class IssueCreate(BaseModel):
    title: str
    as_user: str
    body: str | None = None
    labels: list[str] | None = None


class LabelsAdd(BaseModel):
    labels: list[str]
    as_user: str


class CommentCreate(BaseModel):
    body: str
    as_user: str


class ActAs(BaseModel):
    as_user: str


def delivery_json(record: DeliveryRecord) -> Json:
    try:
        payload: Any = json.loads(record.body)
    except ValueError:
        payload = record.body.decode(errors="replace")
    return {
        "id": record.id,
        "guid": record.guid,
        "hook_id": record.hook_id,
        "repository": record.repo,
        "event": record.event,
        "action": record.action,
        "url": record.url,
        "redelivery": record.redelivery,
        "delivered_at": timestamp(record.delivered_at),
        "duration_ms": record.duration_ms,
        "request": {"headers": record.request_headers, "payload": payload},
        "response": {
            "status_code": record.status_code,
            "headers": record.response_headers,
            "body": record.response_body,
        },
        "error": record.error,
    }


@router.get("/health")
def health() -> Json:
    return {"ok": True}


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(body: UserCreate, emu: EmulatorDep) -> Json:
    user = emu.add_user(body.login, body.token, name=body.name, email=body.email, site_admin=body.site_admin)
    return emu.hub.user_json(user)


@router.post("/repos", status_code=status.HTTP_201_CREATED)
def create_repository(body: RepoCreate, emu: EmulatorDep) -> Json:
    return emu.create_repository(
        body.owner,
        body.name,
        body.files,
        default_branch=body.default_branch,
        private=body.private,
        description=body.description,
    )


@router.put("/repos/{owner}/{repo}/collaborators/{login}", status_code=status.HTTP_204_NO_CONTENT)
def set_permission(owner: str, repo: str, login: str, body: PermissionSet, emu: EmulatorDep) -> None:
    emu.set_permission(owner, repo, login, body.permission)


@router.post("/repos/{owner}/{repo}/hooks", status_code=status.HTTP_201_CREATED)
def create_hook(owner: str, repo: str, body: HookCreate, emu: EmulatorDep) -> Json:
    return emu.create_hook(
        owner, repo, body.url, secret=body.secret, events=body.events, content_type=body.content_type
    )


@router.post("/repos/{owner}/{repo}/issues", status_code=status.HTTP_201_CREATED)
def create_issue(owner: str, repo: str, body: IssueCreate, emu: EmulatorDep) -> Json:
    return emu.create_issue(
        owner, repo, title=body.title, body=body.body, labels=body.labels, as_user=body.as_user
    )


@router.post("/repos/{owner}/{repo}/issues/{number}/labels")
def add_labels(owner: str, repo: str, number: int, body: LabelsAdd, emu: EmulatorDep) -> list[Json]:
    return emu.add_labels(owner, repo, number, body.labels, as_user=body.as_user)


@router.delete("/repos/{owner}/{repo}/issues/{number}/labels/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_label(owner: str, repo: str, number: int, name: str, as_user: str, emu: EmulatorDep) -> None:
    emu.remove_label(owner, repo, number, name, as_user=as_user)


@router.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=status.HTTP_201_CREATED)
def create_comment(owner: str, repo: str, number: int, body: CommentCreate, emu: EmulatorDep) -> Json:
    return emu.create_comment(owner, repo, number, body.body, as_user=body.as_user)


@router.get("/repos/{owner}/{repo}/issues/{number}/comments")
def list_comments(owner: str, repo: str, number: int, emu: EmulatorDep) -> list[Json]:
    return emu.comments(owner, repo, number)


@router.get("/repos/{owner}/{repo}/pulls")
def list_pulls(owner: str, repo: str, emu: EmulatorDep, state: str = "all") -> list[Json]:
    return emu.pulls(owner, repo, state=state)


@router.post("/repos/{owner}/{repo}/pulls/{number}/merge")
def merge_pull(owner: str, repo: str, number: int, body: ActAs, emu: EmulatorDep) -> Json:
    return emu.merge_pull(owner, repo, number, as_user=body.as_user)


@router.get("/repos/{owner}/{repo}/branches/{branch:path}")
def branch(owner: str, repo: str, branch: str, emu: EmulatorDep) -> Json:
    sha = emu.branch_sha(owner, repo, branch)
    if sha is None:
        raise not_found()
    return {"name": branch, "sha": sha}


@router.get("/repos/{owner}/{repo}/contents/{path:path}")
def file_content(owner: str, repo: str, path: str, emu: EmulatorDep, ref: str | None = None) -> Json:
    content = emu.file_content(owner, repo, path, ref)
    if content is None:
        raise not_found()
    return {"path": path, "ref": ref, "content": content}


@router.get("/deliveries")
def list_deliveries(emu: EmulatorDep, event: str | None = None, action: str | None = None) -> list[Json]:
    return [delivery_json(record) for record in emu.deliveries(event=event, action=action)]


@router.post("/deliveries/{delivery}/redeliver", status_code=status.HTTP_202_ACCEPTED)
def redeliver(delivery: str, emu: EmulatorDep) -> Json:
    try:
        guid = emu.redeliver(int(delivery) if delivery.isdigit() else delivery)
    except KeyError as exc:
        raise ApiError(404, "Delivery not found") from exc
    return {"guid": guid}


@router.get("/rate-limits")
def rate_limits(emu: EmulatorDep) -> Json:
    return {
        key: {"limit": u.limit, "used": u.used, "remaining": u.remaining, "reset": u.reset}
        for key, u in emu.rate_limiter.snapshot().items()
    }


class RateLimitSet(BaseModel):
    limit: int = Field(ge=0)
    window_seconds: int = Field(default=3600, gt=0)


@router.put("/rate-limits/{token}", status_code=status.HTTP_204_NO_CONTENT)
def set_rate_limit(token: str, body: RateLimitSet, emu: EmulatorDep) -> Response:
    emu.set_rate_limit(token, limit=body.limit, window_seconds=body.window_seconds)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/reset", status_code=status.HTTP_204_NO_CONTENT)
def reset(emu: EmulatorDep) -> Response:
    emu.reset()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
