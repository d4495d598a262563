"""Check runs, check suites, commit statuses and the combined status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel

from paid_github_emulator import checks_ops, shapes_checks
from paid_github_emulator.check_records import CheckRun
from paid_github_emulator.errors import ApiError, not_found
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json
from paid_github_emulator.state import Repo

router = APIRouter(prefix="/repos/{owner}/{repo}")


class Output(BaseModel):
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = []


class CheckRunWrite(BaseModel):
    name: str | None = None
    head_sha: str | None = None
    status: str | None = None
    conclusion: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    completed_at: datetime | None = None
    output: Output | None = None

    def change(self) -> checks_ops.CheckChange:
        output = self.output or Output()
        return checks_ops.CheckChange(
            status=self.status,
            conclusion=self.conclusion,
            title=output.title,
            summary=output.summary,
            text=output.text,
            annotations=output.annotations,
            details_url=self.details_url,
            external_id=self.external_id,
            completed_at=self.completed_at,
        )


class StatusWrite(BaseModel):
    state: str
    target_url: str | None = None
    description: str | None = None
    context: str = "default"


def _sha(hub: HubDep, repo: Repo, ref: str) -> str:
    found = GitHistory(hub.git, repo.owner, repo.name).resolve(ref)
    if found is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return found


def _run(repo: Repo, run_id: int) -> CheckRun:
    run = repo.check_runs.get(run_id)
    if run is None:
        raise not_found()
    return run


@router.post("/check-runs", status_code=status.HTTP_201_CREATED)
def create_check_run(body: CheckRunWrite, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    if not body.name or not body.head_sha:
        raise ApiError(422, "Invalid request.", ["name and head_sha are required"])
    run = checks_ops.create_check_run(
        hub, repo, user, name=body.name, head_sha=body.head_sha, change=body.change()
    )
    with hub.store.lock:
        return checks_ops.run_json(hub, repo, run)


@router.patch("/check-runs/{run_id}")
def update_check_run(run_id: int, body: CheckRunWrite, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    run = checks_ops.update_check_run(hub, repo, user, run_id, body.change())
    with hub.store.lock:
        return checks_ops.run_json(hub, repo, run)


@router.get("/check-runs/{run_id}")
def get_check_run(run_id: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        run = _run(repo, run_id)
        return checks_ops.run_json(hub, repo, run)


@router.get("/check-runs/{run_id}/annotations")
def list_annotations(run_id: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        run = _run(repo, run_id)
        return [shapes_checks.annotation(run, item, hub.urls, repo) for item in page.slice(run.annotations)]


@router.get("/commits/{ref:path}/check-runs")
def list_check_runs(
    ref: str, hub: HubDep, repo: RepoDep, page: PageDep, check_name: str | None = None
) -> Json:
    sha = _sha(hub, repo, ref)
    with hub.store.lock:
        runs = [r for r in repo.check_runs.values() if r.head_sha == sha and check_name in (None, r.name)]
        runs.sort(key=lambda r: r.id, reverse=True)
        return {
            "total_count": len(runs),
            "check_runs": [checks_ops.run_json(hub, repo, r) for r in page.slice(runs)],
        }


@router.get("/commits/{ref:path}/check-suites")
def list_check_suites(ref: str, hub: HubDep, repo: RepoDep, page: PageDep) -> Json:
    sha = _sha(hub, repo, ref)
    with hub.store.lock:
        suites = [s for s in repo.check_suites.values() if s.head_sha == sha]
        shaped = [checks_ops.suite_json(hub, repo, s) for s in page.slice(suites)]
        return {"total_count": len(suites), "check_suites": shaped}


@router.get("/check-suites/{suite_id}")
def get_check_suite(suite_id: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        suite = repo.check_suites.get(suite_id)
        if suite is None:
            raise not_found()
        return checks_ops.suite_json(hub, repo, suite)


@router.post("/statuses/{sha}", status_code=status.HTTP_201_CREATED)
def create_status(sha: str, body: StatusWrite, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    item = checks_ops.create_status(
        hub,
        repo,
        user,
        sha,
        state=body.state,
        context=body.context,
        description=body.description,
        target_url=body.target_url,
    )
    with hub.store.lock:
        return shapes_checks.commit_status(hub.urls, repo, item, hub.store.users)


@router.get("/statuses/{ref:path}")  # GitHub's older address of the same list
@router.get("/commits/{ref:path}/statuses")
def list_statuses(ref: str, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    sha = _sha(hub, repo, ref)
    with hub.store.lock:
        found = [s for s in reversed(repo.statuses) if s.sha == sha]
        return [shapes_checks.commit_status(hub.urls, repo, s, hub.store.users) for s in page.slice(found)]


@router.get("/commits/{ref:path}/status")
def combined_status(ref: str, hub: HubDep, repo: RepoDep) -> Json:
    sha = _sha(hub, repo, ref)
    with hub.store.lock:
        latest = checks_ops.latest_statuses(repo, sha)
        api = hub.urls.repo_api(repo)
        return {
            "state": shapes_checks.combined_state(latest),
            "statuses": [shapes_checks.commit_status(hub.urls, repo, s, hub.store.users) for s in latest],
            "sha": sha,
            "total_count": len(latest),
            "repository": hub.repo_json(repo, full=False),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }
