"""A failing check or commit status on the head of Paid's pull request, as a CI round.

Trust boundary: only check runs written by an allowlisted GitHub App (`check_run.app.slug` in the
executor's `ci_check_apps`) and commit statuses set by an allowlisted login (`status.creator` in
`ci_status_creators`) count, so nobody can fake a failure to steer the agent; and only on a pull
request Paid opened whose head is still the checked commit, when it or its issue carries the fix-CI
label (or the executor sets `auto_fix_ci`). The check's output comes from running the pull request's
code, which the agent wrote: it reaches the agent as data, bounded, as failing checks do in a run."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import httpx

from paid_contracts import CheckRunCompleted, CheckSuiteCompleted, CommitStatusChanged, IssueRef, RepoRef
from paid_contracts.identity import check_run_completed_event_id
from paid_executor.rounds.params import RoundRequest
from paid_executor.rounds.triggers import FoundRound, NoRound, get_json, paids_pull

FAILED = frozenset({"failure", "timed_out"})
FAILED_STATUSES = frozenset({"failure", "error"})
LOG_LIMIT = 8_000
ANNOTATIONS_LIMIT = 20
_NUMBERS = re.compile(r"\d+")


def failure_signature(
    name: str, conclusion: str, output: dict[str, Any], annotations: list[dict[str, Any]]
) -> str:
    """What makes two failures the same one: the check, its conclusion, its output and annotations,
    with the numbers (durations, counts, line numbers) taken out."""
    parts = [name, conclusion, str(output.get("title") or ""), str(output.get("text") or "")[-LOG_LIMIT:]]
    parts += [f"{a.get('path')}:{a.get('message')}" for a in annotations[:ANNOTATIONS_LIMIT]]
    return hashlib.sha256(_NUMBERS.sub("#", "\n".join(parts)).encode()).hexdigest()


def describe_failure(run: dict[str, Any], annotations: list[dict[str, Any]]) -> str:
    output = run.get("output") or {}
    lines = [
        f"The check `{run.get('name')}` ended as {run.get('conclusion')}.",
        f"Title: {output.get('title') or ''}",
        f"Summary: {output.get('summary') or ''}",
    ]
    for item in annotations[:ANNOTATIONS_LIMIT]:
        lines.append(f"- {item.get('path')}:{item.get('start_line')}: {item.get('message')}")
    text = str(output.get("text") or "")
    if text:
        excerpt = text if len(text) <= LOG_LIMIT else "[...]\n" + text[-LOG_LIMIT:]
        lines.append(f"The end of its log:\n{excerpt}")
    return "\n".join(lines)


async def _labels(github: httpx.AsyncClient, repo: IssueRef) -> set[str]:
    item = await get_json(github, f"/repos/{repo.repo.owner}/{repo.repo.name}/issues/{repo.number}")
    return {str(label.get("name", "")).lower() for label in item.get("labels") or []}


@dataclass(frozen=True)
class CompletedCheck:
    """The fields of a completed check run a CI round is decided on, from the event or from a listing."""

    repo: RepoRef
    check_run_id: int
    head_sha: str
    conclusion: str
    app_slug: str | None
    pull_numbers: tuple[int, ...]
    change_id: str  # the CheckRunCompleted event id of this check run, whichever way it was heard

    @classmethod
    def of(cls, event: CheckRunCompleted) -> CompletedCheck:
        return cls(
            event.repo,
            event.check_run_id,
            event.head_sha,
            event.conclusion,
            event.app_slug,
            event.pull_numbers,
            event.event_id,
        )


async def ci_rounds(
    event: CheckRunCompleted | CompletedCheck,
    github: httpx.AsyncClient,
    *,
    apps: tuple[str, ...],
    fix_label: str,
    auto_fix_ci: bool,
) -> list[FoundRound] | NoRound:
    if isinstance(event, CheckRunCompleted):
        event = CompletedCheck.of(event)
    if event.conclusion not in FAILED:
        return NoRound(f"a check that ended as {event.conclusion} asks for no round")
    if not event.app_slug or event.app_slug.lower() not in {app.lower() for app in apps}:
        return NoRound(f"check runs of {event.app_slug or 'an unknown app'} are not on the allowlist")
    repo = event.repo
    run = await get_json(github, f"/repos/{repo.owner}/{repo.name}/check-runs/{event.check_run_id}")
    annotations = await get_json(
        github, f"/repos/{repo.owner}/{repo.name}/check-runs/{event.check_run_id}/annotations"
    )
    found: list[FoundRound] = []
    reasons: list[str] = []
    for number in event.pull_numbers:
        pull = await paids_pull(github, repo, number)
        if isinstance(pull, NoRound):
            reasons.append(pull.reason)
            continue
        details, issue_number, branch = pull
        if details["head"]["sha"] != event.head_sha:
            reasons.append(f"#{number}'s head moved on from {event.head_sha[:12]}")
            continue
        issue = IssueRef(repo=repo, number=issue_number)
        wanted = auto_fix_ci or fix_label.lower() in (
            await _labels(github, IssueRef(repo=repo, number=number)) | await _labels(github, issue)
        )
        if not wanted:
            reasons.append(f"neither #{number} nor #{issue_number} carries {fix_label}")
            continue
        request = RoundRequest(
            change_id=event.change_id,
            kind="ci",
            requested_by=event.app_slug,
            summary=describe_failure(run, annotations),
            failure_signature=failure_signature(
                str(run.get("name")), str(run.get("conclusion")), run.get("output") or {}, annotations
            ),
        )
        found.append(FoundRound(issue=issue, number=number, branch=branch, request=request))
    return found or NoRound("; ".join(reasons) or "the check run names no pull request")


async def requested_ci_rounds(
    github: httpx.AsyncClient, repo: RepoRef, number: int, *, apps: tuple[str, ...]
) -> list[FoundRound] | NoRound:
    """`/paid fix-ci` on pull request `number`: its head's failing checks by allowlisted apps, as if
    the fix-CI label were on. The round is named by the check run, as the automatic one would be, so
    the two paths never start two rounds for one failure."""
    pull = await paids_pull(github, repo, number)
    if isinstance(pull, NoRound):
        return pull
    head = str(pull[0]["head"]["sha"])
    listed = await get_json(github, f"/repos/{repo.owner}/{repo.name}/commits/{head}/check-runs")
    rounds: list[FoundRound] = []
    for run in listed.get("check_runs") or []:
        if run.get("status") != "completed" or run.get("conclusion") not in FAILED:
            continue
        check = CompletedCheck(
            repo=repo,
            check_run_id=int(run["id"]),
            head_sha=str(run["head_sha"]),
            conclusion=str(run["conclusion"]),
            app_slug=str((run.get("app") or {}).get("slug") or "") or None,
            pull_numbers=(number,),
            change_id=check_run_completed_event_id(repo.owner, repo.name, int(run["id"])),
        )
        found = await ci_rounds(check, github, apps=apps, fix_label="", auto_fix_ci=True)
        if isinstance(found, list):
            rounds += found
    return rounds or NoRound(f"no failing check by an allowlisted app on #{number}'s head {head[:12]}")


def describe_status(event: CommitStatusChanged) -> str:
    lines = [
        f"The commit status `{event.context}` is {event.state}.",
        f"Description: {event.description}",
    ]
    if event.target_url:
        lines.append(f"Details: {event.target_url}")
    return "\n".join(lines)


async def status_rounds(
    event: CommitStatusChanged,
    github: httpx.AsyncClient,
    *,
    creators: tuple[str, ...],
    fix_label: str,
    auto_fix_ci: bool,
) -> list[FoundRound] | NoRound:
    """The CI rounds a failing commit status asks for: on each open pull request of Paid's whose head
    is the status's commit, when it or its issue carries the fix-CI label (or `auto_fix_ci`)."""
    if event.state not in FAILED_STATUSES:
        return NoRound(f"a status that is {event.state} asks for no round")
    if event.creator.lower() not in {creator.lower() for creator in creators}:
        return NoRound(f"statuses set by {event.creator or 'an unknown login'} are not on the allowlist")
    repo = event.repo
    listed = await get_json(github, f"/repos/{repo.owner}/{repo.name}/pulls?state=open&per_page=100")
    heads = [int(pull["number"]) for pull in listed if pull["head"]["sha"] == event.sha]
    found: list[FoundRound] = []
    reasons: list[str] = []
    for number in heads:
        pull = await paids_pull(github, repo, number)
        if isinstance(pull, NoRound):
            reasons.append(pull.reason)
            continue
        _, issue_number, branch = pull
        issue = IssueRef(repo=repo, number=issue_number)
        wanted = auto_fix_ci or fix_label.lower() in (
            await _labels(github, IssueRef(repo=repo, number=number)) | await _labels(github, issue)
        )
        if not wanted:
            reasons.append(f"neither #{number} nor #{issue_number} carries {fix_label}")
            continue
        signature = hashlib.sha256(
            _NUMBERS.sub("#", f"status\n{event.context}\n{event.state}\n{event.description}").encode()
        ).hexdigest()
        request = RoundRequest(
            change_id=event.event_id,
            kind="ci",
            requested_by=event.creator,
            summary=describe_status(event),
            failure_signature=signature,
        )
        found.append(FoundRound(issue=issue, number=number, branch=branch, request=request))
    return found or NoRound("; ".join(reasons) or f"{event.sha[:12]} is the head of no open pull request")


async def suite_rounds(
    event: CheckSuiteCompleted,
    github: httpx.AsyncClient,
    *,
    apps: tuple[str, ...],
    fix_label: str,
    auto_fix_ci: bool,
) -> list[FoundRound] | NoRound:
    """A failed check suite: the rounds of its failing check runs, each named by the check run, so the
    suite and its runs' own events (and a missed one) ask for each round once."""
    if event.conclusion not in FAILED:
        return NoRound(f"a check suite that ended as {event.conclusion} asks for no round")
    if not event.app_slug or event.app_slug.lower() not in {app.lower() for app in apps}:
        return NoRound(f"check suites of {event.app_slug or 'an unknown app'} are not on the allowlist")
    repo = event.repo
    listed = await get_json(github, f"/repos/{repo.owner}/{repo.name}/commits/{event.head_sha}/check-runs")
    rounds: list[FoundRound] = []
    reasons: list[str] = []
    for run in listed.get("check_runs") or []:
        in_suite = int((run.get("check_suite") or {}).get("id") or 0) == event.check_suite_id
        if not in_suite or run.get("status") != "completed" or run.get("conclusion") not in FAILED:
            continue
        check = CompletedCheck(
            repo=repo,
            check_run_id=int(run["id"]),
            head_sha=event.head_sha,
            conclusion=str(run["conclusion"]),
            app_slug=event.app_slug,
            pull_numbers=event.pull_numbers,
            change_id=check_run_completed_event_id(repo.owner, repo.name, int(run["id"])),
        )
        found = await ci_rounds(check, github, apps=apps, fix_label=fix_label, auto_fix_ci=auto_fix_ci)
        if isinstance(found, NoRound):
            reasons.append(found.reason)
        else:
            rounds += found
    return rounds or NoRound("; ".join(reasons) or f"no failing check run in suite {event.check_suite_id}")
