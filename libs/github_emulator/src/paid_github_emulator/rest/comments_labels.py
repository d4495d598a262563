"""Repository labels, and comments addressed by id with their reactions."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from paid_github_emulator import issue_ops, shapes_issues
from paid_github_emulator.errors import not_found, validation_failed
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json

router = APIRouter(prefix="/repos/{owner}/{repo}")


@router.get("/labels")
def list_labels(hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        return page.slice([hub.label_json(repo, found) for found in repo.labels.values()])


@router.get("/labels/{name}")
def get_label(name: str, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        found = repo.labels.get(name.lower())
        if found is None:
            raise not_found()
        return hub.label_json(repo, found)


class LabelCreate(BaseModel):
    name: str
    color: str = "ededed"
    description: str | None = None


@router.post("/labels", status_code=status.HTTP_201_CREATED)
def create_label(body: LabelCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    created = issue_ops.create_label(
        hub, repo, user, name=body.name, color=body.color, description=body.description
    )
    with hub.store.lock:
        return hub.label_json(repo, created)


@router.get("/issues/comments/{comment_id}")
def get_comment(comment_id: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        found = repo.comments.get(comment_id)
        if found is None:
            raise not_found()
        return hub.comment_json(repo, found)


class CommentUpdate(BaseModel):
    body: str


@router.patch("/issues/comments/{comment_id}")
def update_comment(
    comment_id: int, body: CommentUpdate, hub: HubDep, repo: RepoDep, user: CurrentUser
) -> Json:
    with hub.store.lock:
        found = repo.comments.get(comment_id)
        if found is not None and found.user.lower() != user.login.lower():
            require(repo, user, "maintain")
    updated = issue_ops.update_comment(hub, repo, user, comment_id, body.body)
    with hub.store.lock:
        return hub.comment_json(repo, updated)


class ReactionCreate(BaseModel):
    content: str


@router.get("/issues/comments/{comment_id}/reactions")
def list_comment_reactions(comment_id: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        found = repo.comments.get(comment_id)
        if found is None:
            raise not_found()
        listed = [
            shapes_issues.reaction(hub.urls, reaction_id, hub.user(login), content, at)
            for reaction_id, (login, content, at) in found.reactions.items()
        ]
        return page.slice(listed)


@router.post("/issues/comments/{comment_id}/reactions", status_code=status.HTTP_201_CREATED)
def create_comment_reaction(
    comment_id: int, body: ReactionCreate, response: Response, hub: HubDep, repo: RepoDep, user: CurrentUser
) -> Json:
    """As on GitHub: 201 for a new reaction, 200 with the existing one when the user already reacted so."""
    if body.content not in shapes_issues.REACTIONS:
        raise validation_failed("Reaction", "content", "invalid")
    with hub.store.lock:
        found = repo.comments.get(comment_id)
        if found is None:
            raise not_found()
        for reaction_id, (login, content, at) in found.reactions.items():
            if login.lower() == user.login.lower() and content == body.content:
                response.status_code = status.HTTP_200_OK
                return shapes_issues.reaction(hub.urls, reaction_id, user, content, at)
        reaction_id, now = hub.store.new_id(), hub.store.now()
        found.reactions[reaction_id] = (user.login, body.content, now)
        return shapes_issues.reaction(hub.urls, reaction_id, user, body.content, now)
