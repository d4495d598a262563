"""The run's GitHub side: read the issue, open the pull request, report on the issue. Each step
looks for what an earlier attempt made (branch, marker) before it creates anything."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from githubkit.exception import RequestFailed
from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_contracts import PullRequestOpened, RunOutcome
from paid_contracts.markers import paid_marker
from paid_executor import repo
from paid_executor.activities.deps import PRODUCER, ExecutorDeps, GitHubClient, github_failure
from paid_executor.activities.pinned_issue import refuse_if_edited
from paid_executor.activities.runs import correlation
from paid_executor.agents.registry import describe_agent
from paid_executor.params import IssueDetails, PullRequestInfo, PullRequestInput, RunContext, RunReport
from paid_runtime.messaging import publish_event
from paid_runtime.temporal import workflow_ui_url

if TYPE_CHECKING:  # the models load with the first response that needs them, not with the worker
    from githubkit_schemas.latest.models import FullRepository, PullRequest, PullRequestSimple

PAGE_SIZE = 100


def pr_marker(run_id: str) -> str:
    return paid_marker(f"run={run_id}")


def result_marker(run_id: str) -> str:
    return paid_marker(f"run={run_id}:result")


async def repository_and_tip(
    github: GitHubClient, owner: str, name: str
) -> tuple[FullRepository, str | None]:
    """The repository and its default branch's commit; None when GitHub cannot say (an empty
    repository): the workspace then fetches the branch and takes its tip."""
    repository = (await github.rest.repos.async_get(owner, name)).parsed_data
    try:
        tip = await github.rest.git.async_get_ref(owner, name, f"heads/{repository.default_branch}")
    except RequestFailed:
        return repository, None
    return repository, tip.parsed_data.object_.sha


class GitHubActivities:
    def __init__(self, deps: ExecutorDeps) -> None:
        self.deps = deps

    @activity.defn(name="fetch_issue")
    async def fetch_issue(self, run: RunContext) -> IssueDetails:
        owner, name, number = run.issue.repo.owner, run.issue.repo.name, run.issue.number
        token = await self.deps.run_token(run)
        try:
            async with self.deps.github(token) as github:
                issue_response, (repository, base_sha) = await asyncio.gather(
                    github.rest.issues.async_get(owner, name, number),
                    repository_and_tip(github, owner, name),
                )
                issue = issue_response.parsed_data
        except RequestFailed as error:
            raise github_failure(error, f"reading {run.issue.key}") from error
        if issue.pull_request:
            raise ApplicationError(f"{run.issue.key} is a pull request, not an issue", non_retryable=True)
        clone_url = run.issue.repo.clone_url or repository.clone_url
        refuse_if_edited(run, issue.title, issue.body)
        pinned = run.pinned
        return IssueDetails(
            title=pinned.title if pinned else issue.title,
            body=(pinned.body if pinned else issue.body) or None,
            html_url=issue.html_url,
            state=issue.state,
            default_branch=repository.default_branch,
            clone_url=clone_url or f"{self.deps.settings.github_web_url}/{owner}/{name}.git",
            base_sha=base_sha,
        )

    @activity.defn(name="open_pull_request")
    async def open_pull_request(self, request: PullRequestInput) -> PullRequestInfo:
        run, issue, change = request.run, request.issue, request.change
        owner, name = run.issue.repo.owner, run.issue.repo.name
        token = await self.deps.run_token(run)
        try:
            async with self.deps.github(token) as github:
                pull: PullRequest | PullRequestSimple | None
                pull = await self._open_pull(github, owner, name, change.branch)
                created = pull is None
                if pull is None:
                    pull = (
                        await github.rest.pulls.async_create(
                            owner,
                            name,
                            title=f"Fix #{run.issue.number}: {issue.title}",
                            head=change.branch,
                            base=issue.default_branch,
                            body=self._pull_body(request),
                            draft=request.draft,
                        )
                    ).parsed_data
                elif pr_marker(run.run_id) not in (pull.body or ""):
                    # Another run's PR on the same branch: it now carries this run's change.
                    await github.rest.pulls.async_update(
                        owner, name, pull.number, body=self._pull_body(request)
                    )
        except RequestFailed as error:
            raise github_failure(error, f"opening the pull request for {run.issue.key}") from error
        info = PullRequestInfo(
            number=pull.number,
            url=pull.html_url,
            branch=change.branch,
            head_sha=pull.head.sha,
            created=created,
        )
        async with self.deps.sessions() as session:
            await repo.update_run(
                session,
                run_id=run.run_id,
                branch=info.branch,
                head_sha=info.head_sha,
                pull_request_url=info.url,
                pull_request_number=info.number,
            )
        event = PullRequestOpened(
            event_id=f"{run.run_id}:pr",
            producer=PRODUCER,
            correlation=correlation(run),
            run_id=run.run_id,
            issue=run.issue,
            number=info.number,
            url=info.url,
            branch=info.branch,
            head_sha=info.head_sha,
        )
        await publish_event(self.deps.broker, event)
        return info

    @staticmethod
    async def _open_pull(
        github: GitHubClient, owner: str, name: str, branch: str
    ) -> PullRequestSimple | None:
        response = await github.rest.pulls.async_list(owner, name, state="open", head=f"{owner}:{branch}")
        pulls = cast("list[PullRequestSimple]", response.parsed_data)
        # The head filter is exact on GitHub; checking again guards against servers that ignore it.
        return next((p for p in pulls if p.head.ref == branch), None)

    def _pull_body(self, request: PullRequestInput) -> str:
        run, change = request.run, request.change
        settings = self.deps.settings
        workflow = workflow_ui_url(settings.temporal_ui_url, settings.temporal_namespace, run.workflow_id)
        summary = change.result.summary.strip() or "(the agent gave no summary)"
        return "\n".join(
            [
                f"Closes #{run.issue.number}",
                "",
                f"This change was made by {describe_agent(run.agent)}, run by Paid.",
                "",
                "### What the agent reported",
                "",
                summary,
                "",
                f"{change.changed_files} file(s) changed on `{change.branch}`. "
                f"Run `{run.run_id}`, prompt `{run.prompt_version}`, [workflow]({workflow}).",
                "",
                pr_marker(run.run_id),
            ]
        )

    @activity.defn(name="comment_on_issue")
    async def comment_on_issue(self, report: RunReport) -> None:
        """One comment per run, found by its marker and edited in place: progress, then the result."""
        run = report.run
        owner, name, number = run.issue.repo.owner, run.issue.repo.name, run.issue.number
        marker = result_marker(run.run_id)
        body = result_comment(report)
        token = await (self.deps.report_token(run) if report.final else self.deps.run_token(run))
        try:
            async with self.deps.github(token) as github:
                page = 1
                while True:
                    comments = (
                        await github.rest.issues.async_list_comments(
                            owner, name, number, per_page=PAGE_SIZE, page=page
                        )
                    ).parsed_data
                    mine = next((c for c in comments if marker in (c.body or "")), None)
                    if mine is not None:
                        if (mine.body or "") != body and not _is_final(mine.body or ""):
                            await github.rest.issues.async_update_comment(owner, name, mine.id, body=body)
                        return
                    if len(comments) < PAGE_SIZE:
                        break
                    page += 1
                await github.rest.issues.async_create_comment(owner, name, number, body=body)
        except RequestFailed as error:
            raise github_failure(error, f"commenting on {run.issue.key}") from error


FINAL_MARK = paid_marker("final")
FENCE = "~~~~"


def _is_final(body: str) -> bool:
    """A final result is never overwritten by a late progress update (activities may retry)."""
    return FINAL_MARK in body


HEADLINES: dict[RunOutcome, str] = {
    RunOutcome.TESTS_FAILING: "Paid stopped: the tests still fail after {iterations} iteration(s), "
    "so there is no PR.",
    RunOutcome.ITERATION_LIMIT: "Paid stopped after {iterations} iteration(s) without a change it "
    "could publish.",
    RunOutcome.BUDGET_EXCEEDED: "Paid stopped this run: budget exceeded.",
    RunOutcome.CANCELLED: "Paid cancelled this run; the agent was stopped and its workspace removed.",
}


def result_comment(report: RunReport) -> str:
    run, pr = report.run, report.pull_request
    agent = describe_agent(report.agent or run.agent)
    duration = f"{report.duration_seconds:.0f} s"
    if not report.final:
        headline = f"Paid is working on this issue with {agent}: {report.detail}."
    elif report.outcome is RunOutcome.SUCCEEDED and pr is not None:
        headline = f"Paid opened {pr.url} for this issue in {duration}. The change was made by {agent}."
    elif report.outcome is RunOutcome.NO_CHANGES:
        headline = (
            f"Paid ran {agent} on this issue for {duration}, but it changed no file, so there is no PR."
        )
    elif report.outcome in HEADLINES:
        headline = HEADLINES[report.outcome].format(iterations=report.iterations)
    else:
        headline = f"Paid could not finish this issue ({report.outcome.value}, after {duration})."
    lines = [result_marker(run.run_id), headline]
    if report.detail and report.final:
        lines += ["", f"> {report.detail}"]
    if report.last_failure:
        lines += ["", "The last failing checks:", "", FENCE, report.last_failure.replace(FENCE, "~~~"), FENCE]
    spent = f" · {report.tokens} tokens · ${report.cost_usd or 0:.4f}" if report.tokens is not None else ""
    status = report.outcome.value if report.final else "running"
    lines += [
        "",
        f"Outcome: **{status}** · iterations {report.iterations} · run `{run.run_id}` · "
        f"prompt `{run.prompt_version}`{spent}",
    ]
    if report.final:
        lines.append(FINAL_MARK)
    return "\n".join(lines)
