"""GitHub's JSON for check runs, check suites and commit statuses."""

from __future__ import annotations

from paid_github_emulator.check_records import CheckRun, CheckSuite, CommitStatus
from paid_github_emulator.shapes import Json, Urls, node_id, simple_user, timestamp
from paid_github_emulator.state import Issue, Repo, User


def app(urls: Urls, owner: User) -> Json:
    """The GitHub App the emulator stands in for `owner`'s checks (GitHub lets only apps write checks)."""
    return {
        "id": owner.id,
        "slug": f"{owner.login.lower()}-checks",
        "node_id": node_id("App", owner.id),
        "owner": simple_user(urls, owner),
        "name": f"{owner.login} checks",
        "description": "Checks written through the GitHub emulator",
        "external_url": f"{urls.web}/{owner.login}",
        "html_url": f"{urls.web}/apps/{owner.login.lower()}-checks",
        "created_at": timestamp(owner.created_at),
        "updated_at": timestamp(owner.created_at),
        "permissions": {"checks": "write", "metadata": "read", "statuses": "write"},
        "events": ["check_run", "check_suite"],
    }


def pull_refs(urls: Urls, repo: Repo, pulls: list[Issue]) -> list[Json]:
    """Open pull requests whose head is the checked commit, as check runs and suites list them."""
    repo_ref = {"id": repo.id, "url": urls.repo_api(repo), "name": repo.name}
    shaped = []
    for item in pulls:
        pull = item.pull
        assert pull is not None
        shaped.append(
            {
                "url": f"{urls.repo_api(repo)}/pulls/{item.number}",
                "id": pull.id,
                "number": item.number,
                "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": repo_ref},
                "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": repo_ref},
            }
        )
    return shaped


def check_suite(
    urls: Urls, repo: Repo, suite: CheckSuite, runs: list[CheckRun], owner: User, pulls: list[Issue]
) -> Json:
    done = bool(runs) and all(run.status == "completed" for run in runs)
    status = "completed" if done else ("in_progress" if runs else "queued")
    return {
        "id": suite.id,
        "node_id": node_id("CheckSuite", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": status,
        "conclusion": suite_conclusion(runs) if done else None,
        "url": f"{urls.repo_api(repo)}/check-suites/{suite.id}",
        "before": None,
        "after": suite.head_sha,
        "pull_requests": pull_refs(urls, repo, pulls),
        "app": app(urls, owner),
        "created_at": timestamp(suite.created_at),
        "updated_at": timestamp(suite.updated_at),
        "latest_check_runs_count": len(runs),
        "check_runs_url": f"{urls.repo_api(repo)}/check-suites/{suite.id}/check-runs",
    }


RANKED = ["action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "success"]


def suite_conclusion(runs: list[CheckRun]) -> str:
    """The worst conclusion of the suite's runs, in GitHub's order of precedence."""
    found = {run.conclusion for run in runs}
    return next((c for c in RANKED if c in found), "success")


def check_run(
    urls: Urls, repo: Repo, run: CheckRun, suite: CheckSuite, owner: User, pulls: list[Issue]
) -> Json:
    api = f"{urls.repo_api(repo)}/check-runs/{run.id}"
    return {
        "id": run.id,
        "node_id": node_id("CheckRun", run.id),
        "head_sha": run.head_sha,
        "external_id": run.external_id,
        "url": api,
        "html_url": f"{urls.repo_web(repo)}/runs/{run.id}",
        "details_url": run.details_url or f"{urls.repo_web(repo)}/runs/{run.id}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": timestamp(run.started_at),
        "completed_at": timestamp(run.completed_at),
        "output": {
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "annotations_count": len(run.annotations),
            "annotations_url": f"{api}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": suite.id},
        "app": app(urls, owner),
        "pull_requests": pull_refs(urls, repo, pulls),
    }


def annotation(run: CheckRun, item: dict[str, object], urls: Urls, repo: Repo) -> Json:
    return {
        "path": item["path"],
        "blob_href": f"{urls.repo_web(repo)}/blob/{run.head_sha}/{item['path']}",
        "start_line": item["start_line"],
        "start_column": item.get("start_column"),
        "end_line": item["end_line"],
        "end_column": item.get("end_column"),
        "annotation_level": item["annotation_level"],
        "title": item.get("title"),
        "message": item["message"],
        "raw_details": item.get("raw_details"),
    }


def commit_status(urls: Urls, repo: Repo, item: CommitStatus, users: dict[str, User]) -> Json:
    return {
        "url": f"{urls.repo_api(repo)}/statuses/{item.sha}",
        "avatar_url": f"{urls.web}/avatars/{item.creator}",
        "id": item.id,
        "node_id": node_id("StatusContext", item.id),
        "state": item.state,
        "description": item.description,
        "target_url": item.target_url,
        "context": item.context,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.created_at),
        "creator": simple_user(urls, users[item.creator.lower()]),
    }


def combined_state(latest: list[CommitStatus]) -> str:
    states = {item.state for item in latest}
    if states & {"error", "failure"}:
        return "failure"
    return "success" if states and states == {"success"} else "pending"
